"""A citizen's whole first visit in a real browser: register, confirm from the mail, sign in, verify
with the (sandbox) bank card, get a signed certificate, reset the password from the mail, and a
stranger checks the certificate from its QR code.

Every page on the way is checked with axe-core, in Romanian and in English.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform
from record_testing import make_cnp
from stdnum.ro.cnp import get_birth_date as birth_date_of

from .conftest import download_signed_pdf

PASSWORD = "trei cuvinte fără legătură"
NEW_PASSWORD = "alte patru cuvinte noi"
MAIL_WAIT = 60


def plain_text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def mail_to(mail: SmtpSink, address: str, link_path: str) -> str:
    """The plain text of the first mail to ``address`` that links to ``link_path``."""
    message = mail.wait_for(lambda m: address in str(m["To"]) and link_path in plain_text(m), timeout=MAIL_WAIT)
    return plain_text(message)


def set_language(page: Any, language: str) -> None:
    """Switch with the link in the header, as a person would; back on the same page."""
    with page.expect_navigation():
        page.locator(f".language-switch a[hreflang='{language}']").click()
    assert page.locator("html").get_attribute("lang") == language


def check_in_both_languages(page: Any, check_accessibility: Callable[[Any], None]) -> None:
    """axe-core on the page as it is, in Romanian and in English (then back to Romanian)."""
    check_accessibility(page)
    set_language(page, "en")
    check_accessibility(page)
    set_language(page, "ro")


def qr_link_of(pdf: Path, workdir: Path) -> str:
    """The address the certificate's QR code carries (read off the rendered first page)."""
    import zxingcpp
    from PIL import Image

    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: install Debian's poppler-utils"
    subprocess.run([pdftoppm, "-r", "150", "-png", "-singlefile", str(pdf), str(workdir / "page")], check=True)
    codes = zxingcpp.read_barcodes(Image.open(workdir / "page.png"))
    assert codes, "no QR code on the certificate"
    return str(codes[0].text)


def test_register_confirm_verify_apply_download_and_check_a_certificate(
    portal_platform: Platform,
    mail: SmtpSink,
    site: str,
    new_page: Callable[[], Any],
    check_accessibility: Callable[[Any], None],
    screenshot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    email = f"ana.{uuid.uuid4().hex[:10]}@example.ro"
    cnp = make_cnp()
    page = new_page()

    # Register: the CNP is checked as typed, and again by the server; the page says what is wrong.
    page.goto("/account/register")
    check_in_both_languages(page, check_accessibility)
    page.fill("#last_name", "Popescu")
    page.fill("#first_name", "Ana-Maria")
    page.fill("#cnp", cnp[:-1] + str((int(cnp[-1]) + 1) % 10))
    page.locator("#cnp").blur()
    assert page.locator("#cnp-check").is_visible()  # the script's message beside the field
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("button[type=submit] >> text=Creați contul")
    assert page.locator(".error-summary a[href='#cnp']").is_visible()
    check_accessibility(page)
    screenshot(page, "account-register-error")
    page.fill("#cnp", cnp)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("button[type=submit] >> text=Creați contul")
    page.wait_for_url("**/account/register/check-email")
    assert email in page.inner_text("main")
    check_in_both_languages(page, check_accessibility)

    # The mailed link lands on a page whose button confirms; opening it confirms nothing.
    text = mail_to(mail, email, "/account/confirm-email")
    link = re.search(r"(http\S+/account/confirm-email\?\S+)", text)
    assert link, text
    page.goto(link.group(1))
    page.wait_for_url(re.compile(r".*/account/confirm-email$"))  # the code left the address bar
    not_yet = requests.post(f"{site}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert not_yet.status_code == 403 and not_yet.json()["type"].endswith("email-unconfirmed")
    check_in_both_languages(page, check_accessibility)
    screenshot(page, "account-confirm-email")
    page.click("button[type=submit] >> text=Confirm adresa de e-mail")
    page.wait_for_url("**/sign-in")

    # Sign in; the account page says the identity is not verified yet.
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.goto("/account")
    assert "se termină în " + cnp[-4:] in page.inner_text("main")
    assert cnp not in page.content()
    check_in_both_languages(page, check_accessibility)
    screenshot(page, "account-profile")
    page.goto("/account/details")
    check_in_both_languages(page, check_accessibility)
    page.goto("/account")

    # Verify with the sandbox bank card: the provider's own page, then back to the portal.
    assert portal_platform.eid_provider is not None
    sub = f"card-{uuid.uuid4().hex[:8]}"
    portal_platform.eid_provider.enrol(
        sub, cnp=cnp, family_name="Popescu", given_name="Ana-Maria", birthdate=birth_date_of(cnp).isoformat()
    )
    page.click("main a >> text=Verificați-vă identitatea")
    page.wait_for_url("**/account/verification")
    check_in_both_languages(page, check_accessibility)
    screenshot(page, "account-verification")
    page.click("button[type=submit] >> text=Verificare cu cardul bancar")
    page.wait_for_selector("input[name=sub]")
    page.fill("input[name=sub]", sub)
    page.click("button >> text=Authorize")
    page.wait_for_url(re.compile(r".*/account/verification/callback\?.*"))
    assert "Identitatea dumneavoastră este verificată" in page.inner_text("main")
    check_accessibility(page)
    screenshot(page, "account-verified")

    # The counter route and its units are there too (for those without a Romanian bank card).
    page.goto("/account/verification/counter")
    check_in_both_languages(page, check_accessibility)

    # Apply for a certificate with the verified data; it is issued at once.
    page.goto("/certificates/new")
    assert "Ana-Maria Popescu" in page.inner_text("main")
    check_in_both_languages(page, check_accessibility)
    screenshot(page, "certificate-apply")
    page.check("input[name=purpose][value=employment]")
    page.click("button[type=submit] >> text=Trimiteți cererea")
    page.wait_for_url(re.compile(r".*/certificates/[0-9a-f-]{36}$"))
    number = page.inner_text(".summary-list__row >> nth=0").split()[-1]
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d+", number), number
    check_in_both_languages(page, check_accessibility)
    screenshot(page, "certificate")

    # Download the PDF through the portal: signed, and valid per poppler's pdfsig.
    pdf = download_signed_pdf(page, "a >> text=Descărcați certificatul (PDF)", tmp_path / "certificate.pdf")

    page.goto("/certificates")
    assert number in page.inner_text("main")
    check_in_both_languages(page, check_accessibility)

    # Forgotten password: the mail's link fills in the code; the new password signs in.
    page.click(".account-nav button[type=submit]")
    page.goto("/account/forgot-password")
    page.fill("#email", email)
    page.click("main button[type=submit]")
    assert email in page.inner_text("main")
    reset = re.search(r"(http\S+/account/reset-password\?\S+)", mail_to(mail, email, "/account/reset-password"))
    assert reset
    page.goto(reset.group(1))
    page.wait_for_url(re.compile(r".*/account/reset-password$"))
    assert page.input_value("#code") != ""
    check_in_both_languages(page, check_accessibility)
    page.fill("#email", email)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password_again", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/sign-in")
    page.fill("#email", email)
    page.fill("#password", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.goto("/certificates")
    assert number in page.inner_text("main")

    # A stranger opens the QR code in a fresh browser, enters the holder's CNP: valid.
    qr = qr_link_of(pdf, tmp_path)
    assert "/certificates/verify?number=" in qr, qr
    stranger = new_page()
    stranger.goto(qr)
    assert stranger.input_value("#number") == number
    assert "#code=" in qr, qr  # the verification code rides in the fragment, never sent to a server
    stranger.wait_for_function("document.getElementById('verification_code').value !== ''")
    assert "#" not in stranger.url  # the script took the code out of the address bar
    check_accessibility(stranger)
    set_language(stranger, "en")
    check_accessibility(stranger)
    stranger.fill("#cnp", cnp)
    stranger.click("button[type=submit] >> text=Check the certificate")
    result = stranger.inner_text("main")
    assert "Valid" in result and number in result
    assert cnp not in stranger.content()
    check_accessibility(stranger)
    set_language(stranger, "ro")
    stranger.fill("#number", number)
    stranger.fill("#cnp", cnp)
    stranger.click("button[type=submit] >> text=Verificați certificatul")
    assert "Valabil" in stranger.inner_text("main")
    check_accessibility(stranger)
    screenshot(stranger, "certificate-verified")


def test_the_public_account_and_unit_pages_pass_axe_in_both_languages(
    new_page: Callable[[], Any], check_accessibility: Callable[[Any], None], screenshot: Callable[[Any, str], Path]
) -> None:
    page = new_page()
    for path in (
        "/account/forgot-password",
        "/account/reset-password",
        "/account/confirm-email",
        "/account/confirm-email/new-code",
        "/certificates",
        "/certificates/verify?number=CJ-2026-0000001",
        "/units",
        "/units/IGPR-CAZIER",
    ):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        check_in_both_languages(page, check_accessibility)
    screenshot(page, "unit-referral")
    page.goto("/account/forgot-password")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary a[href='#email']").is_visible()
    check_in_both_languages(page, check_accessibility)


def test_without_javascript_the_server_checks_the_cnp_and_the_printed_code_is_typed(browser: Any, site: str) -> None:
    context = browser.new_context(base_url=site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/account/register")
        page.fill("#last_name", "Popescu")
        page.fill("#first_name", "Ana")
        page.fill("#cnp", "1800101221145")  # the check digit is wrong
        page.fill("#email", f"ana.{uuid.uuid4().hex[:10]}@example.ro")
        page.fill("#password", PASSWORD)
        page.fill("#password_again", PASSWORD)
        page.click("main button[type=submit]")
        assert page.locator(".error-summary a[href='#cnp']").inner_text().startswith("Ultima cifră a acestui CNP")
        assert page.locator("#password").input_value() == ""

        page.goto("/certificates/verify?number=CJ-2026-0000001")
        assert page.input_value("#number") == "CJ-2026-0000001" and page.input_value("#verification_code") == ""
        page.fill("#verification_code", "AAAA-BBBB-CCCC")
        page.click("main button[type=submit]")
        assert "Negăsit" in page.inner_text("main")  # (axe needs JavaScript: it runs on these pages above)
    finally:
        context.close()
