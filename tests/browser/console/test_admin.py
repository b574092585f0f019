"""An administrator's tools in the staff console, in a real browser against the real platform: a
notification found by its recipient and sent again (the mail arrives a second time), a clerk's action
read on the audit trail filtered by that clerk, a member created and granted a role, and a member's
lost second factor reset so that they must enrol an authenticator again.

Every page passes axe-core; the screenshots in docs/screenshots/console-admin*.png are written here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import requests
from mai_devtools import SmtpSink

from .conftest import CONSOLE, MAIL_WAIT, TIMEOUT, Member, api_login, plain_text, sign_in
from .test_console import submit_petition

#: How long audit-svc and notify-svc may take to take in what the platform's services published.
SETTLE = 60.0


def staff_id_of(member: Member) -> str:
    """The member's account id, as their access token names them (``sub``)."""
    return str(jwt.decode(member.access_token, options={"verify_signature": False})["sub"])


def until(deadline_seconds: float, attempt: Any) -> Any:
    """``attempt()`` again every second until it gives something true, at most ``deadline_seconds``."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = attempt()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def test_an_administrator_finds_a_notification_by_its_recipient_and_sends_it_again(
    page: Any, administrator: Member, mail: SmtpSink, site: str, check_accessibility, screenshot
) -> None:
    email = f"ioana.{uuid.uuid4().hex[:8]}@example.ro"
    number = submit_petition(site, email)
    mail.wait_for(lambda m: email in str(m["To"]), timeout=MAIL_WAIT)

    sign_in(page, administrator)
    page.click(f"nav.site-nav a[href='{CONSOLE}/notifications']")
    check_accessibility(page)

    def delivered_row() -> Any:
        page.fill("#recipient", email.upper())  # the whole address, in any letter case
        page.click("form[role=search] button[type=submit]")
        row = page.locator("#notifications tbody tr").first
        return row if row.count() and row.locator("form[action$='/resend']").count() else None

    row = until(SETTLE, delivered_row)  # notify-svc records the delivery just after the relay took it
    assert row, page.locator("main").inner_text()
    assert number in row.inner_text() and "Livrată" in row.locator(".status").inner_text()
    assert "încercări la ultima: 1" in row.locator(".attempts").inner_text()
    check_accessibility(page)
    screenshot(page, "console-admin-notifications")

    row.locator("form[action$='/resend'] button[type=submit]").click()
    assert page.locator(".panel").count() == 1, page.locator("main").inner_text()
    assert number in page.locator("#notifications").inner_text()  # the same results, shown again
    again = mail.wait_for(lambda m: email in str(m["To"]) and ".2@" in str(m["Message-ID"]), timeout=MAIL_WAIT)
    assert number in plain_text(again)
    check_accessibility(page)

    # By reference: the petition's number finds the same notification.
    page.fill("#recipient", "")
    page.fill("#reference", number)
    page.click("form[role=search] button[type=submit]")
    assert number in page.locator("#notifications").inner_text()
    assert email not in page.url  # the address travelled in the form's body only


def test_an_administrator_reads_a_clerks_action_on_the_audit_trail_filtered_by_that_clerk(
    page: Any, administrator: Member, new_member, site: str, check_accessibility, screenshot
) -> None:
    number = submit_petition(site, f"dan.{uuid.uuid4().hex[:8]}@example.ro")
    clerk = new_member("petition_clerk@IGPR", name="Elena Registratură")
    other = new_member("petition_clerk@IGPR", name="Radu Registratură")
    for member, petition in ((clerk, number), (other, submit_petition(site, "x@example.ro"))):
        api_login(site, member)
        assigned = requests.post(
            f"{site}/api/v1/petitions/{petition}/assignment", json={}, headers=member.auth, timeout=TIMEOUT
        )
        assert assigned.status_code == 200, assigned.text

    sign_in(page, administrator)
    page.click(f"nav.site-nav a[href='{CONSOLE}/audit']")
    check_accessibility(page)

    def clerks_rows() -> Any:
        page.fill("#actor", staff_id_of(clerk))
        page.select_option("#service", "petition-svc")
        page.click("form[role=search] button[type=submit]")
        return page.locator("#trail tbody tr").count()

    assert until(SETTLE, clerks_rows), page.locator("main").inner_text()  # audit-svc consumes asynchronously
    trail = page.locator("#trail").inner_text()
    assert "petition.assign" in trail and number in trail
    assert staff_id_of(other) not in trail  # filtered by the clerk
    check_accessibility(page)
    screenshot(page, "console-admin-audit")

    page.fill("#actor", "somebody")
    page.click("form[role=search] button[type=submit]")
    assert page.locator(".error-summary a[href='#actor']").count() == 1
    check_accessibility(page)


def test_an_administrator_creates_a_member_and_grants_a_role(
    page: Any, administrator: Member, mail: SmtpSink, check_accessibility, screenshot
) -> None:
    email = f"mihai.{uuid.uuid4().hex[:8]}@mai.gov.ro"
    sign_in(page, administrator)
    page.click(f"nav.site-nav a[href='{CONSOLE}/staff-accounts']")
    check_accessibility(page)
    page.click(f"main a[href='{CONSOLE}/staff-accounts/new']")

    page.click("main form button[type=submit]")  # nothing filled in: said beside each field
    assert page.locator(".error-summary a[href='#email']").count() == 1
    check_accessibility(page)
    page.fill("#name", "Mihai Nou")
    page.fill("#email", email)
    page.select_option("#role", "petition_clerk")
    page.fill("#unit", "IGPR")
    screenshot(page, "console-admin-new-member")
    page.click("main form button[type=submit]")

    assert page.locator(".notice--success").count() == 1, page.locator("main").inner_text()
    assert page.locator("#member-name").inner_text() == "Mihai Nou"
    invitation = mail.wait_for(lambda m: email in str(m["To"]), timeout=MAIL_WAIT)
    assert "code=" in plain_text(invitation)

    page.select_option("#role", "phone_operator")
    page.fill("#unit", "IGPR")
    page.click("form[action$='/roles'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1
    assert page.locator("#roles tbody tr").count() == 2
    assert "Operator linie telefonică" in page.locator("#roles").inner_text()
    check_accessibility(page)
    screenshot(page, "console-admin-member")

    page.locator("#roles tbody tr").first.locator("button[type=submit]").click()
    assert page.locator("#roles tbody tr").count() == 1

    page.click(f"nav.site-nav a[href='{CONSOLE}/staff-accounts']")
    page.fill("#unit", "IGPR")
    page.click("form[role=search] button[type=submit]")
    assert "Mihai Nou" in page.locator("#members").inner_text()
    check_accessibility(page)
    screenshot(page, "console-admin-staff")


def test_an_administrator_resets_a_lost_second_factor_and_the_member_enrols_again(
    page: Any, new_page, administrator: Member, new_member, site: str, check_accessibility, screenshot
) -> None:
    clerk = new_member("petition_clerk@IGPR", name="Ana Pierdută")
    api_login(site, clerk)
    clerk_id = staff_id_of(clerk)

    sign_in(page, administrator)
    page.goto(f"{CONSOLE}/staff-accounts/{clerk_id}")
    assert page.locator("#member-name").inner_text() == "Ana Pierdută"
    page.click("form[action$='/second-factor'] button[type=submit]")  # not confirmed: refused beside the box
    assert page.locator(".error-summary a[href='#confirmed']").count() == 1
    check_accessibility(page)
    page.check("#confirmed")
    page.click("form[action$='/second-factor'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1, page.locator("main").inner_text()
    check_accessibility(page)
    screenshot(page, "console-admin-reset")

    # The member's tokens no longer refresh, and the next sign-in asks for no code: the
    # authenticator is forgotten, and the enrolment page is open to them again.
    answer = requests.post(
        f"{site}/api/v1/auth/login", json={"email": clerk.email, "password": clerk.password}, timeout=TIMEOUT
    ).json()
    assert "challenge_token" not in answer and answer["access_token"]
    clerk.totp_secret = ""
    member_page = new_page()
    sign_in(member_page, clerk)
    assert member_page.url.endswith(f"{CONSOLE}/")
    member_page.goto(f"{CONSOLE}/sign-in/authenticator")
    assert member_page.locator("figure.qr-code svg title").count() == 1
    secret = member_page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    clerk.totp_secret, clerk.last_step = secret, -1
    member_page.fill("#code", clerk.next_code())
    member_page.click("main button[type=submit]")
    assert member_page.url.endswith(f"{CONSOLE}/authenticator/recovery-codes")

    # Nobody resets their own factor.
    page.goto(f"{CONSOLE}/staff-accounts/{staff_id_of(administrator)}")
    assert page.locator("form[action$='/second-factor']").count() == 0
