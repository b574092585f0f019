"""A member of staff sets up an authenticator app in the console and signs in with its code, in a
real browser against the real platform; the codes are computed with pyotp from the secret the
enrolment page shows, as the phone would. axe-core on the new pages."""

from __future__ import annotations

from typing import Any

from .conftest import CONSOLE, sign_in


def test_a_member_enrols_an_authenticator_and_signs_in_with_its_code_or_a_recovery_code(
    page: Any, new_member, check_accessibility, screenshot
) -> None:
    clerk = new_member("petition_clerk@IGPR", authenticator=False)
    sign_in(page, clerk)  # no authenticator yet: where the platform allows it, the password alone
    assert page.url.endswith(f"{CONSOLE}/")

    page.goto(f"{CONSOLE}/sign-in/authenticator")
    assert page.locator("h1").inner_text() == "Configurați aplicația de autentificare"
    assert page.locator("figure.qr-code svg title").count() == 1
    check_accessibility(page)
    screenshot(page, "console-authenticator")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert secret and len(secret) == 32
    clerk.totp_secret = secret

    page.fill("#code", "000000")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 1  # a wrong first code activates nothing
    page.fill("#code", clerk.next_code())
    page.click("main button[type=submit]")
    assert page.url.endswith(f"{CONSOLE}/authenticator/recovery-codes")
    recovery_codes = [c.strip() for c in page.locator("ul.recovery-codes code").all_inner_texts()]
    assert len(recovery_codes) == len(set(recovery_codes)) == 10
    check_accessibility(page)
    screenshot(page, "console-recovery-codes")
    page.reload()
    assert recovery_codes[0] not in page.locator("main").inner_text()  # shown once

    page.click(".account-nav button[type=submit]")
    sign_in(page, clerk)  # password, then the code page with the app's next code
    assert page.url.endswith(f"{CONSOLE}/")
    assert "Petiții" in page.locator("nav.site-nav").inner_text()

    page.click(".account-nav button[type=submit]")
    page.goto(f"{CONSOLE}/")
    page.fill("#email", clerk.email)
    page.fill("#password", clerk.password)
    page.click("main button[type=submit]")
    assert page.url.endswith(f"{CONSOLE}/sign-in/code")
    check_accessibility(page)
    screenshot(page, "console-sign-in-code")
    page.click("details summary")
    page.fill("#recovery_code", recovery_codes[0])
    page.click("main button[type=submit]")
    assert page.url.endswith(f"{CONSOLE}/"), page.url
