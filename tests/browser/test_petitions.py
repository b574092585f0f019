"""A citizen's petition in a real browser: the form, the mail with the number, the mail's link, the status.

Also: every page of the petitions and directory areas passes axe-core in Romanian and English.
"""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from mai_chassis.testing.samples import sample_pdf

from .conftest import set_language


def _plain_text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def test_a_petition_sent_from_the_form_is_mailed_and_its_link_opens_the_status(
    page: Any, new_page, mail, check_accessibility, screenshot, tmp_path: Path
) -> None:
    email = f"ana.{uuid.uuid4().hex[:8]}@example.ro"
    attachment = tmp_path / "noise.pdf"
    attachment.write_bytes(sample_pdf())

    # The citizen looks for the competent institution, without any script doing it for them.
    page.goto("/petitions/new")
    page.fill("#search-q", "politiei")
    page.click("form[role=search] button[type=submit]")
    assert page.locator("input[name=institution][value=IGPR]").count() == 1
    page.check("input[name=institution][value=IGPR]")
    page.check("input[name=kind][value=petition]")
    page.select_option("#field", "public-order")
    page.fill("#subject", "Zgomot noaptea")
    page.fill("#text", "Muzică tare în fiecare noapte după miezul nopții, pe strada Florilor nr. 3.")
    page.fill("#name", "Ana Popescu")
    page.fill("#email", email)
    page.set_input_files("#attachments", str(attachment))
    check_accessibility(page)
    screenshot(page, "petition-form")
    page.click("form[enctype='multipart/form-data'] button[type=submit]")

    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    # The confirmation shows the number and the answer deadline.
    assert page.url.endswith("/petitions/confirmation")
    number = page.locator("#registration-number").inner_text().strip()
    assert re.fullmatch(r"IGPR-\d{4}-\d{6}", number)
    assert "Termen de răspuns" in page.locator(".summary-list").inner_text()
    check_accessibility(page)
    screenshot(page, "petition-confirmation")
    set_language(page, "en")
    assert "Answer due by" in page.locator(".summary-list").inner_text()
    check_accessibility(page)

    # The mail arrives with the number, and its link leads to the status page.
    message = mail.wait_for(lambda m: email in str(m["To"]), timeout=60)
    body = _plain_text(message)
    assert number in body
    link = next(url for url in re.findall(r"https?://\S+", body) if "/petitions/status" in url)
    assert email not in link and "%40" not in link

    reader = new_page()  # the mail is opened later, in a browser without the session
    reader.goto(link)
    assert reader.locator("#registration_number").input_value() == number
    assert reader.locator("#email").input_value() == ""
    check_accessibility(reader)
    screenshot(reader, "petition-status")
    reader.fill("#email", email)
    reader.click("main button[type=submit]")

    assert reader.url.endswith("/petitions/status/result")
    assert number in reader.locator("h1").inner_text()
    assert "Înregistrată" in reader.locator("#petition-status").inner_text()
    check_accessibility(reader)
    screenshot(reader, "petition-status-result")
    set_language(reader, "en")
    assert "Registered" in reader.locator("#petition-status").inner_text()
    check_accessibility(reader)


def test_a_wrong_e_mail_on_the_status_page_is_explained(page: Any) -> None:
    page.goto("/petitions/status?registration_number=MAI-2026-999999")
    page.fill("#email", "someone@example.ro")
    page.click("main button[type=submit]")

    assert "Nu am găsit nicio petiție" in page.locator(".error-summary").inner_text()


def test_the_form_works_with_javascript_off(browser: Any, site: str, mail) -> None:
    context = browser.new_context(base_url=site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/petitions/new?institution=MAI")
        page.check("input[name=kind][value=opinion]")
        page.select_option("#field", "regulations")
        page.fill("#subject", "Program de lucru")
        page.fill("#text", "Propun prelungirea programului de lucru cu publicul.")
        page.fill("#name", "Ion Ionescu")
        page.fill("#email", f"ion.{uuid.uuid4().hex[:8]}@example.ro")
        page.click("form[enctype='multipart/form-data'] button[type=submit]")

        assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
        assert "Opinie înregistrată" in page.locator(".panel__title").inner_text()
        assert re.fullmatch(r"MAI-\d{4}-\d{6}", page.locator("#registration-number").inner_text().strip())
    finally:
        context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/petitions",
        "/petitions/new",
        "/petitions/new?q=pasaport",
        "/petitions/status",
        "/institutions",
        "/institutions?q=frontiera",
        "/institutions/IGPR",
        "/faq",
        "/recommendations",
        "/no-such-page",
    ],
)
def test_every_page_of_the_area_passes_axe_in_both_languages(page: Any, check_accessibility, path: str) -> None:
    page.goto(path)
    assert page.locator("html").get_attribute("lang") == "ro"
    check_accessibility(page)

    set_language(page, "en")

    check_accessibility(page)


def test_an_empty_form_shows_every_problem_at_the_top_linked_to_its_field(page: Any, check_accessibility) -> None:
    page.goto("/petitions/new")
    page.click("form[enctype='multipart/form-data'] button[type=submit]")

    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")  # the script's focus
    links = summary.locator("a")
    assert links.count() >= 6
    assert links.first.get_attribute("href") == "#institution-0"
    check_accessibility(page)
    links.nth(1).click()
    assert page.evaluate("document.activeElement.name") == "kind"
