"""The console's office, certificate and referral pages in a real browser against the real platform:
an office manager closes a day on which a citizen has a booked appointment and the citizen's mail
arrives; a certificate clerk revokes a certificate found by its number and the public check says so;
a counter officer clears a referral, issues the certificate and downloads the signed PDF. Members of
another office or unit are refused.

Every page passes axe-core; docs/screenshots/console-office*.png, console-certificates*.png and
console-referrals*.png are written here.
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import requests
from mai_devtools import SmtpSink
from mai_devtools.local_platform import BIN, Platform
from record_testing import make_cnp
from stdnum.ro.cnp import get_birth_date as birth_date_of

from ..conftest import download_signed_pdf, set_language
from ..immigration.conftest import OFFICE, application_of, book_appointment, verified_citizen
from .conftest import CONSOLE, MAIL_WAIT, TIMEOUT, sign_in

#: The unit in whose name online certificates are issued (record-svc's ISSUING_UNIT default).
ISSUING_UNIT = "IGPR-CAZIER"
#: The police unit whose counter the test's referral goes to.
COUNTER_UNIT = "IPJ-CJ"


def _apply_for_certificate(site: str, citizen: Any) -> dict[str, Any]:
    answer = requests.post(
        f"{site}/api/v1/certificates",
        json={"purpose": "employment", "language": "ro"},
        headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _verify(site: str, number: str, cnp: str) -> str:
    answer = requests.post(
        f"{site}/api/v1/certificates/verifications", json={"number": number, "cnp": cnp}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["result"])


def _registry_entry(platform: Platform, cnp: str, unit: str, workdir: Path) -> None:
    """The person gets an entry in the local criminal record registry, imported as an operator would."""
    csv_file = workdir / "registry.csv"
    csv_file.write_text(f"cnp,unit\n{cnp},{unit}\n", encoding="utf-8")
    imported = subprocess.run(
        [str(BIN / "record-svc"), "import-registry", str(csv_file)],
        env=platform.processes["record-web"].env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr


def test_an_office_manager_closes_a_booked_day_and_the_applicant_is_mailed(
    portal_platform: Platform,
    mail: SmtpSink,
    site: str,
    new_member,
    new_page,
    officer,
    office_slots: int,
    check_accessibility,
    screenshot,
) -> None:
    assert office_slots > 0
    citizen = verified_citizen(portal_platform, mail)
    application_id, _ = book_appointment(site, mail, officer, citizen)
    starts_at = application_of(site, citizen, application_id)["appointment"]["starts_at"]
    day = date.fromisoformat(starts_at[:10])
    manager = new_member(f"office_manager@{OFFICE}")

    page = new_page()
    sign_in(page, manager)
    page.click(f"nav.site-nav a[href='{CONSOLE}/offices']")
    page.wait_for_url(f"**{CONSOLE}/offices/{OFFICE}")
    assert OFFICE in page.locator("#office-title").inner_text()
    assert page.input_value("#visit") != ""
    check_accessibility(page)
    screenshot(page, "console-office")

    # A mistake is said beside its field (the page's own check, then the API's).
    page.fill("#monday", "toată ziua")
    page.click("form[action$='/opening-hours'] button[type=submit]")
    assert page.locator(".error-summary a[href='#monday']").count() == 1
    assert page.locator("#monday-error-1").is_visible()
    check_accessibility(page)
    screenshot(page, "console-office-error")

    # The closure: first the appointments it affects, then the confirmation.
    page.goto(f"{CONSOLE}/offices/{OFFICE}")
    page.fill("#first_day", day.isoformat())
    page.fill("#reason", "Lucrări de renovare la ghișee")
    page.click("form[action$='/closures'] button[type=submit]")
    affected = page.locator("#affected").inner_text()
    assert application_id in affected
    predicted_move = "Mutată pe" in affected  # the preview names the later slot, or says "Anulată"
    check_accessibility(page)
    screenshot(page, "console-office-closure-preview")
    page.click("button >> text=Închideți biroul în aceste zile")
    counts = page.locator("#closure-counts").inner_text()
    moved, cancelled = page.locator("#moved tbody tr").count(), page.locator("#cancelled tbody tr").count()
    assert moved + cancelled == 1, counts
    assert bool(moved) == predicted_move, (affected, counts)
    check_accessibility(page)
    screenshot(page, "console-office-closure-done")

    # The applicant is told: the appointment moved (appointment.moved) or cancelled by the office.
    words = "mutată" if moved else "anulată"
    message = mail.wait_for(lambda m: citizen.email in str(m["To"]) and words in str(m["Subject"]), timeout=MAIL_WAIT)
    assert message is not None
    after = application_of(site, citizen, application_id)["appointment"]
    if moved:
        assert after["starts_at"][:10] > day.isoformat()
    else:
        assert after is None or after["status"] == "cancelled"
    page.goto(f"{CONSOLE}/offices/{OFFICE}")
    assert "Lucrări de renovare" in page.locator("#closures").inner_text()
    set_language(page, "en")
    assert page.locator("#hours-title").inner_text() == "Opening hours"
    check_accessibility(page)
    screenshot(page, "console-office-en")

    # The manager of another office is refused this one, as is a member without the role.
    elsewhere = new_member("office_manager@IGI-BV")
    other = new_page()
    sign_in(other, elsewhere)
    assert other.goto(f"{CONSOLE}/offices/{OFFICE}").status == 403
    check_accessibility(other)
    assert other.goto(f"{CONSOLE}/certificates").status == 403
    assert other.goto(f"{CONSOLE}/referrals").status == 403


def test_a_certificate_clerk_revokes_a_certificate_and_the_public_check_says_revoked(
    portal_platform: Platform, mail: SmtpSink, site: str, new_member, new_page, check_accessibility, screenshot
) -> None:
    citizen = verified_citizen(portal_platform, mail)
    certificate = _apply_for_certificate(site, citizen)
    number = certificate["registration_number"]
    assert certificate["status"] == "valid" and number
    assert _verify(site, number, citizen.cnp) == "valid"
    clerk = new_member(f"certificate_clerk@{ISSUING_UNIT}")

    page = new_page()
    sign_in(page, clerk)
    page.click(f"nav.site-nav a[href='{CONSOLE}/certificates']")
    check_accessibility(page)
    screenshot(page, "console-certificates")
    page.fill("#number", "CJ-2000-0000001")
    page.click("main form[role=search] button[type=submit]")
    assert page.locator("#number-error-1").is_visible()
    check_accessibility(page)
    page.fill("#number", number.lower())
    page.click("main form[role=search] button[type=submit]")
    assert page.locator("#registration-number").inner_text() == number
    assert page.locator("#history tbody tr").count() >= 2
    check_accessibility(page)
    screenshot(page, "console-certificates-certificate")

    # Another reason without a note is said beside the note; then the confirmation page.
    page.check("input[name=reason][value=other]")
    page.click("form[action$='/revocation'] button[type=submit]")
    assert page.locator(".error-summary a[href='#note']").count() == 1
    page.check("input[name=reason][value=issued_in_error]")
    page.fill("#note", "Scopul tipărit greșit")
    page.click("form[action$='/revocation'] button[type=submit]")
    assert number in page.locator("h1").inner_text()
    check_accessibility(page)
    screenshot(page, "console-certificates-revoke")
    page.click("button[type=submit].button--warning")
    assert page.locator(".notice--success").count() == 1
    assert page.locator("#certificate-status").inner_text().strip() == "Revocat"
    check_accessibility(page)

    assert _verify(site, number, citizen.cnp) == "revoked"

    # A clerk of another unit does not find it; a counter officer may not search at all.
    elsewhere = new_member("certificate_clerk@IPJ-IS", "counter_clerk@IPJ-IS")
    other = new_page()
    sign_in(other, elsewhere)
    assert other.goto(f"{CONSOLE}/certificates/{number}").status == 404
    assert other.goto(f"{CONSOLE}/offices/{OFFICE}").status == 403


def test_a_counter_officer_clears_a_referral_and_issues_the_signed_certificate(
    portal_platform: Platform,
    mail: SmtpSink,
    site: str,
    new_member,
    new_page,
    check_accessibility,
    screenshot,
    tmp_path: Path,
) -> None:
    cnp = make_cnp()
    _registry_entry(portal_platform, cnp, COUNTER_UNIT, tmp_path)
    citizen = verified_citizen(portal_platform, mail, cnp=cnp)
    applied = _apply_for_certificate(site, citizen)
    assert applied["status"] == "referred" and applied["referral"]["unit"] == COUNTER_UNIT, applied
    counter_officer = new_member(f"counter_clerk@{COUNTER_UNIT}")

    page = new_page()
    sign_in(page, counter_officer)
    page.click(f"nav.site-nav a[href='{CONSOLE}/referrals']")
    link = page.locator(f"#referrals a[href$='/referrals/{applied['id']}']")
    assert link.count() == 1
    check_accessibility(page)
    screenshot(page, "console-referrals")
    link.click()
    check_accessibility(page)
    screenshot(page, "console-referrals-referral")

    page.check("input[name=outcome][value=cleared]")
    page.fill("#note", "Omonim: altă persoană")
    page.click("form[action$='/outcome'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1

    # A CNP that is not the applicant's is refused beside the field, and not shown again.
    born = birth_date_of(cnp)
    stranger = make_cnp(born)
    page.fill("#cnp", stranger)
    page.fill("#last_name", "Popa")
    page.fill("#first_name", "Elena")
    page.fill("#birth_date", born.isoformat())
    page.click("form[action$='/certificate'] button[type=submit]")
    assert page.locator(".error-summary a[href='#cnp']").count() == 1
    assert stranger not in page.content()
    check_accessibility(page)
    screenshot(page, "console-referrals-issue-error")
    page.fill("#cnp", cnp)
    page.fill("#birth_date", born.isoformat())
    page.click("form[action$='/certificate'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1
    assert cnp not in page.content()
    check_accessibility(page)
    screenshot(page, "console-referrals-issued")

    download_signed_pdf(page, "#certificate-pdf", tmp_path / "certificate.pdf")
    number = page.locator("#issued-title").inner_text().split()[-1]
    assert _verify(site, number, cnp) == "valid"

    # Another unit's counter officer: that counter's list is refused, the referral is not found.
    elsewhere = new_member("counter_clerk@IPJ-IS")
    other = new_page()
    sign_in(other, elsewhere)
    assert other.goto(f"{CONSOLE}/referrals?unit={COUNTER_UNIT}").status == 403
    assert other.goto(f"{CONSOLE}/referrals/{applied['id']}").status == 404
    check_accessibility(other)
