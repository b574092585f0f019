"""Petitions received on paper, in a real browser against the real platform: a clerk registers one with
the petitioner's e-mail address (the registration mail arrives, then the answer's), and one without
(the receipt PDF downloads and names the number); a clerk of another institution registers nothing
there.

Every page passes axe-core; the screenshots in docs/screenshots/console-intake*.png are written here.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from mai_chassis.testing.samples import sample_pdf
from mai_devtools import SmtpSink

from ..conftest import set_language
from .conftest import CONSOLE, MAIL_WAIT, TIMEOUT, Member, api_login, plain_text, sign_in

INTAKE = f"{CONSOLE}/petitions/intake"


def fill_intake(page: Any, *, channel: str, name: str, subject: str, email: str = "", address: str = "") -> None:
    """The intake form as a clerk fills it in: IGPR, received two days ago, road traffic."""
    page.check(f"input[name=channel][value={channel}]")
    page.fill("#received_on", (date.today() - timedelta(days=2)).isoformat())
    page.fill("#name", name)
    page.fill("#address", address)
    page.fill("#email", email)
    page.select_option("#field", "road-traffic")
    page.fill("#subject", subject)
    page.fill("#text", f"{subject}: indicatorul de pe strada Morilor nr. 12 din Brăila este rupt de două săptămâni.")


def test_a_clerk_registers_paper_petitions_the_petitioner_is_mailed_or_given_the_receipt(
    page: Any, new_member, mail: SmtpSink, site: str, check_accessibility, screenshot, tmp_path: Path
) -> None:
    clerk = new_member("petition_clerk@IGPR", name="Elena Registratură")
    new_member("petition_clerk@IGPR", name="Mihai Coleg", authenticator=False)
    sign_in(page, clerk)

    # From the queue to the intake form; nothing filled in: the form says what is missing, beside each field.
    page.goto(f"{CONSOLE}/petitions")
    page.click(f"main a[href='{INTAKE}?institution=IGPR']")
    assert page.url.endswith(f"{INTAKE}?institution=IGPR")
    assert page.locator("#institution option").all_inner_texts() == [
        page.locator("#institution option:checked").inner_text()
    ]  # IGPR only: the clerk's one institution
    check_accessibility(page)
    screenshot(page, "console-intake")
    page.click("main form[action$='/petitions/intake'] button[type=submit]")
    summary = page.locator(".error-summary")
    assert summary.count() == 1
    assert page.locator("#channel-error-1").count() == 1 and page.locator("#address-error-1").count() == 1
    check_accessibility(page)
    screenshot(page, "console-intake-errors")

    # With an e-mail address, and a scanned letter: the petitioner is mailed the number.
    email = f"ion.{uuid.uuid4().hex[:8]}@example.ro"
    subject = f"Indicator rupt {uuid.uuid4().hex[:6]}"
    fill_intake(page, channel="email", name="Ion Ionescu", subject=subject, email=email)
    page.set_input_files(
        "#attachments", files=[{"name": "scrisoare.pdf", "mimeType": "application/pdf", "buffer": sample_pdf()}]
    )
    page.click("main form[action$='/petitions/intake'] button[type=submit]")
    assert page.url.endswith(f"{INTAKE}/registered"), page.locator("main").inner_text()
    number = page.locator("#registration-number").inner_text()
    assert number.startswith("IGPR-") and page.locator("#mailed").count() == 1
    assert page.locator("a[href*='/receipts/']").count() == 0
    check_accessibility(page)
    screenshot(page, "console-intake-registered")
    mail.wait_for(lambda m: email in str(m["To"]) and number in plain_text(m), timeout=MAIL_WAIT)

    # The clerk gives it to a colleague chosen by name, then answers it; the answer is mailed.
    page.click(f"main a[href='{CONSOLE}/petitions/{number}']")
    assert page.locator("#registration-number").inner_text() == number
    assert page.locator("#attachments li").count() == 1
    page.select_option("#assignee", label="Mihai Coleg")
    page.click("form[action$='/assign'] button[type=submit]")
    assert page.locator(".notice--success").count() == 1
    assert "Mihai Coleg" in page.locator(".summary-list").inner_text()
    check_accessibility(page)
    screenshot(page, "console-intake-petition")
    answer_text = f"Indicatorul a fost înlocuit. Ref {uuid.uuid4().hex[:6]}."
    page.fill("form[action$='/answer'] #text", answer_text)
    page.click("form[action$='/answer'] button[type=submit]")
    assert email in page.locator("main").inner_text()
    page.click("button[value=send]")
    assert answer_text in page.locator("#petition-answer").inner_text()
    mail.wait_for(lambda m: email in str(m["To"]) and answer_text in plain_text(m), timeout=MAIL_WAIT)

    # Without an e-mail address: the answer goes by post, and the clerk prints the receipt.
    page.goto(f"{INTAKE}?institution=IGPR")
    fill_intake(page, channel="post", name="Maria Popa", subject="Semafor defect", address="Str. Morilor 14, Brăila")
    page.click("main form[action$='/petitions/intake'] button[type=submit]")
    assert page.url.endswith(f"{INTAKE}/registered"), page.locator("main").inner_text()
    paper_number = page.locator("#registration-number").inner_text()
    assert paper_number != number and page.locator("#mailed").count() == 0
    check_accessibility(page)
    screenshot(page, "console-intake-receipt")
    with page.expect_download() as download:
        page.click(f"main a[href='{INTAKE}/receipts/{paper_number}']")
    receipt = tmp_path / "receipt.pdf"
    download.value.save_as(receipt)
    assert download.value.suggested_filename == f"receipt-{paper_number}.pdf"
    assert receipt.read_bytes().startswith(b"%PDF-")
    assert shutil.which("pdftotext"), "pdftotext is missing: install Debian's poppler-utils"
    text = subprocess.run(["pdftotext", str(receipt), "-"], capture_output=True, text=True, timeout=30, check=True)
    assert paper_number in text.stdout and "Maria Popa" in text.stdout
    served = page.request.get(f"{INTAKE}/receipts/{paper_number}")
    assert "no-store" in served.headers["cache-control"]

    # The same pages in English, one click away.
    set_language(page, "en")
    assert page.locator(".panel__title").inner_text() == "Petition registered"
    check_accessibility(page)
    page.click(f"main a[href='{CONSOLE}/petitions/{paper_number}']")
    assert "By post" in page.locator(".summary-list").inner_text()
    assert page.locator("#receipt").count() == 1
    check_accessibility(page)
    page.goto(f"{INTAKE}?institution=IGPR")
    assert page.locator("h1").inner_text() == "Register a petition received by post, e-mail or at the counter"
    check_accessibility(page)


def test_a_clerk_of_another_institution_registers_nothing_there(
    page: Any, new_member, site: str, check_accessibility
) -> None:
    other: Member = new_member("petition_clerk@IGSU", name="Dan Urgențe")
    sign_in(page, other)

    assert page.goto(f"{INTAKE}?institution=IGPR").status == 403
    check_accessibility(page)
    page.goto(INTAKE)
    assert page.locator("#institution option").all_inner_texts() == [
        page.locator("#institution option:checked").inner_text()
    ]
    assert "IGSU" in page.locator("#institution").inner_text()

    # The API refuses it too, whatever a page would send.
    api_login(site, other)
    refused = requests.post(
        f"{site}/api/v1/petitions/intake",
        json={
            "channel": "post",
            "institution": "IGPR",
            "kind": "petition",
            "field": "road-traffic",
            "subject": "Indicator rupt",
            "text": "Indicatorul este rupt.",
            "name": "Ion Ionescu",
            "address": "Str. Morilor 12, Brăila",
        },
        headers={**other.auth, "Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
