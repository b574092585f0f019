"""An immigration applicant's whole journey in Chromium, on the real platform, with JavaScript turned off:
apply, upload, read the officer's feedback beside the rejected document, upload it again, book a slot,
then open the link in the confirmation e-mail in a fresh browser, move the appointment and cancel it.
Every page the applicant sees passes axe-core in Romanian and English."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mai_chassis.testing import wait_until
from mai_chassis.testing.samples import sample_jpeg, sample_pdf, sample_png
from mai_devtools import SmtpSink

from .conftest import (
    OFFICE,
    PASSWORD,
    TRAVEL_DOCUMENTS,
    Person,
    application_of,
    mail_to,
    mails_to,
    manage_link_in,
    review,
)

FEEDBACK = "Fotografia este neclară: fața trebuie să se vadă întreagă. Încărcați o scanare mai bună."


def sign_in(page: Any, person: Person, next_path: str) -> None:
    page.goto(f"/sign-in?next={next_path}")
    page.fill("#email", person.email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(next_path), f"{page.url}\n{page.content()}"


class Auditor:
    """A second, JavaScript-enabled browser of the same person: axe-core on each page, in both languages."""

    def __init__(self, page: Any, check: Callable[[Any], None], screenshot: Callable[[Any, str], Path], language: Any):
        self.page, self.check, self.screenshot, self.language = page, check, screenshot, language

    def audit(self, path: str, name: str | None = None) -> None:
        self.page.goto(path)
        self.check(self.page)
        if name:
            self.screenshot(self.page, name)
        self.language(self.page, "en")
        self.check(self.page)
        if name:
            self.screenshot(self.page, f"{name}-en")
        self.language(self.page, "ro")


def upload(page: Any, code: str, file: Path) -> None:
    page.set_input_files(f"#{code}-file", str(file))
    page.locator(f"#document-{code} button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".notice--success").count() == 1, page.content()


def test_an_applicant_is_told_why_a_document_was_rejected_books_and_manages_the_appointment_from_the_mail(
    browser: Any,
    site: str,
    mail: SmtpSink,
    citizen: Person,
    officer: Person,
    office_slots: int,
    new_page: Callable[[], Any],
    check_accessibility: Callable[[Any], None],
    screenshot: Callable[[Any, str], Path],
    language: Any,
    tmp_path: Path,
) -> None:
    assert office_slots > 0
    scans = {
        "application-form": ("cerere.pdf", sample_pdf()),
        "travel-document-grounds": ("statut.pdf", sample_pdf()),
        "photo": ("fotografie.jpg", sample_jpeg()),
        "fee-receipt": ("chitanta.png", sample_png()),
    }
    files = {}
    for code, (name, content) in scans.items():
        (tmp_path / name).write_bytes(content)
        files[code] = tmp_path / name
    (tmp_path / "fotografie-noua.png").write_bytes(sample_png())

    no_script = browser.new_context(base_url=site, java_script_enabled=False, viewport={"width": 1100, "height": 900})
    no_script.set_default_timeout(15_000)
    page = no_script.new_page()
    auditor = Auditor(new_page(), check_accessibility, screenshot, language)
    try:
        sign_in(page, citizen, "/immigration")
        sign_in(auditor.page, citizen, "/immigration")
        assert "Document de călătorie" in page.content()
        auditor.audit("/immigration", "immigration")
        auditor.audit("/offices")
        auditor.audit(f"/offices/{OFFICE}", "immigration-office")

        # Apply. booking-svc learns of the verified identity from an event: until it has, the form
        # says to verify it first, and sending it again later works.
        page.get_by_role("button", name="Începeți o cerere").click()
        auditor.audit("/applications/new", "immigration-new-application")
        deadline = time.monotonic() + 30
        while True:
            page.get_by_label("Document de călătorie").check()
            page.select_option("#office", OFFICE)
            page.get_by_role("button", name="Începeți cererea").click()
            page.wait_for_load_state()
            if "/applications/new" not in page.url or time.monotonic() > deadline:
                break
            assert "Verificați-vă identitatea" in page.content(), page.content()
            time.sleep(0.5)
        found = re.search(r"/applications/([0-9a-f-]{36})$", page.url)
        assert found, page.url
        application_id = found.group(1)

        for code in TRAVEL_DOCUMENTS:
            upload(page, code, files[code])
        auditor.audit(f"/applications/{application_id}")
        page.get_by_role("button", name="Depuneți cererea").click()
        assert "Cererea a fost depusă" in page.content()
        assert application_of(site, citizen, application_id)["status"] == "submitted"

        # The officer rejects the photo; the applicant sees why, beside it, and replaces it.
        review(site, officer, application_id, {**dict.fromkeys(TRAVEL_DOCUMENTS), "photo": FEEDBACK})
        page.reload()
        photo = page.locator("#document-photo")
        assert FEEDBACK in photo.inner_text()
        assert photo.locator("input[type=file]").count() == 1
        assert page.locator("#document-application-form input[type=file]").count() == 0
        auditor.audit(f"/applications/{application_id}", "immigration-document-rejected")
        assert "Fotografia este neclară" in mail_to(mail, citizen.email, "Fotografia este neclară")

        upload(page, "photo", tmp_path / "fotografie-noua.png")
        page.get_by_role("button", name="Depuneți cererea").click()
        review(site, officer, application_id, {"photo": None})
        assert application_of(site, citizen, application_id)["status"] == "documents_accepted"

        # Book a slot from the application.
        page.reload()
        page.get_by_role("button", name="Faceți o programare").click()
        assert page.url.endswith(f"/applications/{application_id}/appointment")
        auditor.audit(f"/applications/{application_id}/appointment", "immigration-book-appointment")
        times = page.locator("input[name=slot_id]")
        assert times.count() > 3
        times.nth(1).check()
        page.get_by_role("button", name="Rezervați această oră").click()
        assert "Programarea a fost făcută" in page.content()
        booked = application_of(site, citizen, application_id)["appointment"]
        assert booked["status"] == "booked"

        # The mail's link opens a page in a browser that is signed in to nothing.
        link = manage_link_in(mail_to(mail, citizen.email, "/appointments/manage/"))
        stranger_context = browser.new_context(base_url=site, java_script_enabled=False)
        stranger_context.set_default_timeout(15_000)
        stranger = stranger_context.new_page()
        stranger.goto(link)
        assert stranger.url == f"{site}/appointments/manage"  # the token left the address bar at once
        assert "Activă" in stranger.content()
        audit_link = new_page()
        audit_link.goto(link)
        check_accessibility(audit_link)
        screenshot(audit_link, "immigration-appointment-from-mail")
        language(audit_link, "en")
        check_accessibility(audit_link)

        # Move it to another time, then cancel it: forms that need no sign-in.
        stranger.locator("input[name=slot_id]").nth(4).check()
        stranger.get_by_role("button", name="Mutați la această oră").click()
        assert "Programarea a fost mutată" in stranger.content()
        moved = application_of(site, citizen, application_id)["appointment"]
        assert moved["rescheduled_from"] == booked["appointment_id"]
        assert moved["starts_at"] != booked["starts_at"]

        stranger.get_by_role("button", name="Anulați programarea").click()
        assert "Programarea a fost anulată" in stranger.content()
        assert "Anulată" in stranger.content()
        after = application_of(site, citizen, application_id)
        assert after["status"] == "documents_accepted" and after["appointment"] is None
        mail_to(mail, citizen.email, "la cererea dumneavoastră")  # the cancellation is mailed
        wait_until(lambda: len(mails_to(mail, citizen.email, "/appointments/manage/")) == 2)  # booked, then moved
        stranger_context.close()

        # The mail history, with each mail's delivery status.
        page.goto("/notifications")
        assert "Livrat" in page.content()
        auditor.audit("/notifications", "notifications")
    finally:
        no_script.close()
