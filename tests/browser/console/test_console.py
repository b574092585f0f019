"""The staff console in a real browser against the real platform: a clerk answers a petition and the
petitioner's mail arrives; an officer rejects a scanned document, accepts the new one and records the
visit and the pickup; an administrator's resend page.

Every page passes axe-core; the screenshots in docs/screenshots/console-*.png are written here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
from mai_chassis.testing.samples import sample_jpeg, sample_pdf, sample_png
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform

from ..conftest import set_language
from ..immigration.conftest import OFFICE, TRAVEL_DOCUMENTS, application_of, start_application, verified_citizen
from .conftest import CONSOLE, MAIL_WAIT, TIMEOUT, citizen_at_the_counter, plain_text, sign_in


def submit_petition(site: str, email: str) -> str:
    answer = requests.post(
        f"{site}/api/v1/petitions",
        json={
            "kind": "petition",
            "institution": "IGPR",
            "field": "public-order",
            "subject": "Iluminat stradal defect",
            "text": "Pe strada Zorilor nr. 12 nu funcționează iluminatul public de două săptămâni.",
            "name": "Maria Ionescu",
            "email": email,
            "language": "ro",
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["registration_number"])


def test_a_clerk_answers_a_petition_and_the_petitioner_is_mailed_the_answer(
    page: Any, new_member, mail: SmtpSink, site: str, check_accessibility, screenshot
) -> None:
    email = f"maria.{uuid.uuid4().hex[:8]}@example.ro"
    number = submit_petition(site, email)
    clerk = new_member("petition_clerk@IGPR")

    page.goto(f"{CONSOLE}/sign-in")
    check_accessibility(page)
    screenshot(page, "console-sign-in")
    sign_in(page, clerk)
    assert page.url.endswith(f"{CONSOLE}/")
    tools = page.locator("nav.site-nav").inner_text()
    assert "Petiții" in tools and "Verificare documente" not in tools and "Notificări" not in tools
    check_accessibility(page)
    screenshot(page, "console-home")

    # The queue's new petitions, then the petition's page.
    page.click(f"nav.site-nav a[href='{CONSOLE}/petitions']")
    assert page.locator(f"#queue a:text-is('{number}')").count() == 1
    check_accessibility(page)
    screenshot(page, "console-queue")
    page.click(f"#queue a:text-is('{number}')")
    assert page.locator("#registration-number").inner_text() == number
    assert "5 zile" in page.locator("#forward-title + .inset").inner_text()
    check_accessibility(page)
    screenshot(page, "console-petition")

    page.click("form[action$='/assign'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1
    answer_text = f"Echipa de intervenție a remediat defecțiunea. Ref {uuid.uuid4().hex[:6]}."
    page.fill("#text", answer_text)
    page.click("form[action$='/answer'] button[type=submit]")
    preview = page.locator("#answer-preview").inner_text()
    assert answer_text in preview and number in preview
    assert email in page.locator("main").inner_text()
    check_accessibility(page)
    screenshot(page, "console-answer-preview")
    page.click("button[value=send]")
    assert page.locator(".error-summary").count() == 0
    assert answer_text in page.locator("#petition-answer").inner_text()

    message = mail.wait_for(lambda m: email in str(m["To"]) and answer_text in plain_text(m), timeout=MAIL_WAIT)
    assert number in plain_text(message)

    # The status line: the number alone.
    page.click(f"nav.site-nav a[href='{CONSOLE}/status-line']")
    page.fill("#number", number.lower())
    page.click("main form[role=search] button[type=submit]")
    assert number in page.locator("#result-title").inner_text()
    check_accessibility(page)
    screenshot(page, "console-status-line")
    set_language(page, "en")
    assert page.locator("h1").inner_text() == "Petition status for a caller"
    check_accessibility(page)
    screenshot(page, "console-status-line-en")

    # Only what the clerk's roles open: another institution's queue and the officers' pages are not theirs.
    assert page.goto(f"{CONSOLE}/petitions?institution=IGSU").status == 404
    assert page.goto(f"{CONSOLE}/documents").status == 403
    check_accessibility(page)


def _upload(site: str, citizen: Any, application_id: str, code: str, content: bytes) -> None:
    uploaded = requests.put(
        f"{site}/api/v1/immigration/applications/{application_id}/documents/{code}",
        files={"file": (f"{code}.scan", content, "application/octet-stream")},
        headers=citizen.auth,
        timeout=TIMEOUT,
    )
    assert uploaded.status_code == 200, uploaded.text


def _submit(site: str, citizen: Any, application_id: str) -> None:
    submitted = requests.post(
        f"{site}/api/v1/immigration/applications/{application_id}/submit", headers=citizen.auth, timeout=TIMEOUT
    )
    assert submitted.status_code == 200, submitted.text


def test_an_officer_rejects_a_document_seen_as_images_accepts_the_new_scan_and_records_visit_and_pickup(
    page: Any,
    new_member,
    mail: SmtpSink,
    portal_platform: Platform,
    office_slots: int,
    site: str,
    check_accessibility,
    screenshot,
) -> None:
    # office_slots: the test office's calendar is filled (0 when the immigration tests filled it already).
    citizen = verified_citizen(portal_platform, mail)
    application_id = start_application(site, citizen)
    for code, content in zip(TRAVEL_DOCUMENTS, (sample_pdf(), sample_pdf(), sample_png(), sample_jpeg()), strict=True):
        _upload(site, citizen, application_id, code, content)
    _submit(site, citizen, application_id)
    officer = new_member(f"immigration_officer@{OFFICE}", name="Elena Ofițer")

    sign_in(page, officer)
    page.click(f"nav.site-nav a[href='{CONSOLE}/documents']")
    link = page.locator(f"#review-queue a[href='{CONSOLE}/documents/{application_id}']")
    assert link.count() == 1
    check_accessibility(page)
    screenshot(page, "console-document-queue")
    link.click()

    # Every document is there as server-rendered PNG pages, nothing of the originals.
    images = page.locator("img.document-page")
    assert images.count() >= len(TRAVEL_DOCUMENTS)
    sources = [images.nth(i).get_attribute("src") or "" for i in range(images.count())]
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert page.locator("embed, object, iframe").count() == 0
    check_accessibility(page)
    screenshot(page, "console-document-review")

    feedback = "Fotografia este neclară: încărcați o fotografie color, pe fond alb."
    page.check("#decision-photo-1")
    page.fill("#feedback-photo", feedback)
    for code in TRAVEL_DOCUMENTS:
        if code != "photo":
            page.check(f"#decision-{code}-0")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    assert page.locator(".notice--success").count() == 1
    check_accessibility(page)
    assert application_of(site, citizen, application_id)["status"] == "changes_requested"
    mail.wait_for(lambda m: citizen.email in str(m["To"]) and feedback in plain_text(m), timeout=MAIL_WAIT)

    # The applicant sends a new photo; the officer accepts it.
    _upload(site, citizen, application_id, "photo", sample_png())
    _submit(site, citizen, application_id)
    page.goto(f"{CONSOLE}/documents/{application_id}")
    assert page.locator("#decision-photo-0").count() == 1
    assert page.locator("#decision-application-form-0").count() == 0  # decided already
    page.check("#decision-photo-0")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    assert application_of(site, citizen, application_id)["status"] == "documents_accepted"

    # The applicant books; on the day, the officer finds the appointment, records the visit, then the pickup.
    booked = requests.post(
        f"{site}/api/v1/appointments",
        json={"application_id": application_id, "earliest": True},
        headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert booked.status_code == 201, booked.text
    day = booked.json()["starts_at"][:10]
    page.goto(f"{CONSOLE}/appointments?date={day}")
    appointment = page.locator(f"#appointments a[href='{CONSOLE}/documents/{application_id}']")
    assert appointment.count() == 1
    check_accessibility(page)
    screenshot(page, "console-appointments")
    appointment.click()
    # From today, as the office counts days (the pickup cannot be before the visit, which is now).
    page.fill("#pickup_from", datetime.now(ZoneInfo("Europe/Bucharest")).date().isoformat())
    check_accessibility(page)
    page.click("form[action$='/visit'] button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    assert application_of(site, citizen, application_id)["status"] == "ready_for_pickup"
    page.click("form[action$='/pickup'] button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    assert application_of(site, citizen, application_id)["status"] == "closed"
    check_accessibility(page)

    assert page.goto(f"{CONSOLE}/petitions").status == 403


def test_an_administrator_finds_the_resend_page_and_an_unknown_id_is_explained(
    page: Any, administrator, check_accessibility, screenshot
) -> None:
    sign_in(page, administrator)
    page.click(f"nav.site-nav a[href='{CONSOLE}/notifications']")
    check_accessibility(page)
    page.fill("#notification_id", str(uuid.uuid4()))
    page.click("form[action$='/notifications/resend'] button[type=submit]")
    assert page.locator(".error-summary a[href='#notification_id']").count() == 1
    check_accessibility(page)
    screenshot(page, "console-notifications")


def test_a_counter_officer_verifies_the_identity_of_the_citizen_in_front_of_them(
    page: Any, new_member, mail: SmtpSink, site: str, check_accessibility, screenshot
) -> None:
    citizen = citizen_at_the_counter(site, mail)
    officer = new_member("counter_clerk@IPJ-CJ", name="Mihai Ghișeu")

    sign_in(page, officer)
    page.click(f"nav.site-nav a[href='{CONSOLE}/counter']")
    check_accessibility(page)
    page.fill("#counter_code", citizen.counter_code)
    page.click("form[action$='/counter'] button[type=submit]")
    assert citizen.last_name in page.locator("main").inner_text()
    check_accessibility(page)
    screenshot(page, "console-counter")

    # Another person's CNP is refused as not matching the account, and is not shown again.
    from record_testing import make_cnp

    wrong = make_cnp()
    while wrong == citizen.cnp:
        wrong = make_cnp()
    page.check("#document_type-0")  # identity card
    page.fill("#series", "CJ")
    page.fill("#number", "654321")
    page.fill("#cnp", wrong)
    page.fill("#last_name", citizen.last_name)
    page.fill("#first_name", citizen.first_name)
    page.click("form[action$='/verification'] button[type=submit]")
    assert "nu corespunde contului" in page.locator(".error-summary").inner_text()
    assert page.locator("#cnp").input_value() == ""
    check_accessibility(page)

    page.fill("#cnp", citizen.cnp)
    page.click("form[action$='/verification'] button[type=submit]")
    assert page.locator(".panel").count() == 1, page.locator("main").inner_text()
    check_accessibility(page)
    assert page.goto(f"{CONSOLE}/documents").status == 403
