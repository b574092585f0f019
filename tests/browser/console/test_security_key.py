"""A member of staff registers a security key in the console and signs in with it, in a real browser
against the real platform. The key is Chromium's own virtual authenticator (DevTools protocol:
WebAuthn.enable, WebAuthn.addVirtualAuthenticator), so navigator.credentials, the page's script and
identity-svc's checks all run for real. WebAuthn needs a host name, not an IP address: these pages
are opened at http://localhost:<gateway port> (the platform's WEBAUTHN_RP_ID). axe-core on the new
pages. Replayed and forged answers are refused at the API (tests/integration/test_staff_security_keys.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import CONSOLE

KEY_NAME = "Cheia albastră"


@pytest.fixture
def localhost_page(browser: Any, site: str) -> Iterator[Callable[..., Any]]:
    """Pages at http://localhost:<port> (fresh contexts), closed after the test."""
    contexts: list[Any] = []

    def open_page(*, javascript: bool = True) -> Any:
        context = browser.new_context(
            base_url=site.replace("127.0.0.1", "localhost"),
            java_script_enabled=javascript,
            viewport={"width": 1100, "height": 900},
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _virtual_security_key(page: Any) -> tuple[Any, str]:
    """A USB security key (CTAP2, resident keys, user verification) that says yes at once."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    added = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return devtools, added["authenticatorId"]


def _password_step(page: Any, member: Any) -> None:
    page.goto(f"{CONSOLE}/")
    page.fill("#email", member.email)
    page.fill("#password", member.password)
    page.click("main button[type=submit]")
    assert page.url.endswith(f"{CONSOLE}/sign-in/code"), page.url


def test_a_member_registers_a_security_key_and_signs_in_with_password_and_key(
    localhost_page, new_member, check_accessibility, screenshot
) -> None:
    clerk = new_member("petition_clerk@IGPR")  # an authenticator app enrolled, as every member has
    page = localhost_page()
    devtools, authenticator = _virtual_security_key(page)

    _password_step(page, clerk)
    assert page.locator("form[data-webauthn]").count() == 0  # no key yet: the code alone
    page.fill("#code", clerk.next_code())
    page.click("main button[type=submit]")
    assert page.url.endswith(f"{CONSOLE}/"), page.url

    page.click(f"main a[href='{CONSOLE}/security-keys']")
    assert page.locator("h1").inner_text() == "Chei de securitate"
    assert page.locator("#security-keys").count() == 0
    expect(page.locator(".webauthn-needs-script")).to_be_hidden()  # once the page's script has run
    check_accessibility(page)
    page.click("main form[data-webauthn] button[type=submit]")  # no name yet: the server asks for one
    assert page.locator(".error-summary").count() == 1
    page.fill("#name", KEY_NAME)
    with page.expect_navigation(url=f"**{CONSOLE}/security-keys"):
        page.click("main form[data-webauthn] button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()
    assert page.locator("#security-keys tbody th").all_inner_texts() == [KEY_NAME]
    [credential] = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    registered_count = credential["signCount"]
    check_accessibility(page)
    screenshot(page, "console-security-keys")

    page.click(".account-nav button[type=submit]")
    _password_step(page, clerk)
    assert page.locator("h1").inner_text() == "Confirmați că sunteți dumneavoastră"
    expect(page.locator("#code")).to_be_visible()  # the app's code is still offered beside the key
    expect(page.locator(".webauthn-needs-script")).to_be_hidden()  # once the page's script has run
    check_accessibility(page)
    screenshot(page, "console-security-key-sign-in")
    with page.expect_navigation(url=f"**{CONSOLE}/"):
        page.click("#security-key-sign-in button[type=submit]")

    assert "Petiții" in page.locator("nav.site-nav").inner_text()
    [credential] = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["signCount"] > registered_count  # the key signed this sign-in

    # Without JavaScript the same member signs in with the app's code; the page says why no key.
    no_script = localhost_page(javascript=False)
    _password_step(no_script, clerk)
    expect(no_script.locator(".webauthn-needs-script")).to_be_visible()
    no_script.fill("#code", clerk.next_code())
    no_script.locator("main form:not([data-webauthn]) button[type=submit]").click()
    assert no_script.url.endswith(f"{CONSOLE}/"), no_script.url

    page.goto(f"{CONSOLE}/security-keys")
    page.click("#security-keys button[type=submit]")
    assert page.locator("#security-keys").count() == 0
    page.click(".account-nav button[type=submit]")
    _password_step(page, clerk)
    assert page.locator("form[data-webauthn]").count() == 0  # the key removed: the code alone again
