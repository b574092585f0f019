"""The site's frame in a real browser: home and sign-in pages, both languages, accessible, no JavaScript needed."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import set_language


@pytest.mark.parametrize("path", ["/", "/sign-in"])
def test_the_frame_pages_pass_axe_in_romanian_and_english(page: Any, check_accessibility, path: str) -> None:
    page.goto(path)
    assert page.locator("html").get_attribute("lang") == "ro"
    check_accessibility(page)

    set_language(page, "en")

    assert page.url.endswith(path)
    check_accessibility(page)


def test_the_home_page_lists_the_services_and_how_they_run(page: Any, screenshot) -> None:
    page.goto("/")

    assert page.locator("h1").inner_text() == "Serviciile online ale Ministerului Afacerilor Interne"
    assert page.locator(".cards .card").count() >= 5
    assert "Toate serviciile funcționează normal." in page.locator("#status-line").inner_text()
    screenshot(page, "home")


def test_a_sign_in_with_a_wrong_password_shows_the_problem_linked_to_the_form(
    new_page, browser: Any, site: str
) -> None:
    context = browser.new_context(base_url=site, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.fill("#email", "nobody@example.ro")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")

        summary = page.locator(".error-summary")
        assert summary.is_visible()
        assert "Adresa de e-mail sau parola este greșită." in summary.inner_text()
        assert page.locator("#password").input_value() == ""
    finally:
        context.close()
