"""Browser tests: the whole platform with the portal, driven in Debian's chromium through Playwright.

Fixtures (any test under tests/browser can use them):

- ``portal_platform`` (session): every service, the portal, the staff console and the gateway as real
  processes, on the real broker and database, mail going to ``mail``; ``portal_platform.gateway_url``
  is the site (the console at ``/staff/``).
- ``mail`` (session): the SMTP sink every mail of the platform goes to.
- ``site``: the portal's address through the gateway (``http://127.0.0.1:<port>``).
- ``browser`` (session): chromium, headless, launched from its Debian path (never downloaded).
- ``page``: a fresh browser context (no cookies) and page per test, Romanian by default;
  ``new_page()`` for a second, separate visitor (a fresh browser, say, for a QR link).
- ``check_accessibility(page)``: runs axe-core in the page, fails on serious/critical violations.
- ``screenshot(page, name)``: writes ``docs/screenshots/<name>.png`` (the whole page).
- ``set_language(page, "en")``: switches the page's language with the site's own link.
- ``download_signed_pdf(page, selector, path)``: clicks the download link, saves the PDF and checks
  its signature with poppler's ``pdfsig``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mai_chassis.testing import create_database, delete_topics, drop_database, ensure_topics
from mai_devtools import SmtpSink
from mai_devtools.local_platform import ALL_SERVICES, Platform

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: axe-core impacts that fail a page (WCAG 2.2 AA rules and best practices).
FAILING_IMPACTS = ("serious", "critical")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives the real platform in a browser: integration and browser tests."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def mail() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture(scope="session")
def portal_platform(kafka_bootstrap_servers: str, postgres_admin_url: str, mail: SmtpSink) -> Iterator[Platform]:
    """Every service, the portal, the console and the gateway, started once for all the browser tests."""
    services = [*ALL_SERVICES, "portal", "console"]
    prefix = f"b{os.urandom(4).hex()}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    databases = {service: create_database(postgres_admin_url, f"browser_{service}") for service in services}
    platform = Platform(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_urls=databases,
        smtp_port=mail.port,
        services=services,
        topic_prefix=prefix,
        # Twelve processes start at once; on a loaded machine that takes a while.
        startup_timeout=240.0,
    )
    try:
        platform.start()
    except Exception:
        print(platform.logs())
        platform.stop()
        raise
    try:
        yield platform
    finally:
        platform.stop()
        for url in databases.values():
            drop_database(postgres_admin_url, url)
        delete_topics(kafka_bootstrap_servers, prefix)


@pytest.fixture(scope="session")
def site(portal_platform: Platform) -> str:
    return portal_platform.gateway_url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"No chromium at {CHROMIUM}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any, site: str) -> Iterator[Callable[[], Any]]:
    """Pages of fresh, separate browser contexts (no shared cookies), closed after the test."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=site, java_script_enabled=True, viewport={"width": 1100, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` in {HERE} (.ci/run does).")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated as the page's own script: our CSP forbids inline <script>, not DevTools evaluation.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => await window.axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return list(result["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} -> {targets}")
    return "\n".join(lines)


@pytest.fixture
def check_accessibility() -> Callable[[Any], None]:
    def check(page: Any) -> None:
        failing = [v for v in run_axe(page) if v.get("impact") in FAILING_IMPACTS]
        assert not failing, f"axe-core on {page.url}:\n{describe_violations(failing)}"

    return check


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def set_language(page: Any, language: str) -> None:
    """Switch with the link in the header, as a person would (it keeps the current page)."""
    page.locator(f".language-switch a[hreflang='{language}']").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language


@pytest.fixture
def language() -> Callable[[Any, str], None]:
    return set_language


def download_signed_pdf(page: Any, selector: str, path: Path) -> Path:
    """Click the download link ``selector``, save the file at ``path``: a PDF whose signature poppler's
    ``pdfsig`` (a standard verifier, not ours) finds valid."""
    with page.expect_download() as download:
        page.click(selector)
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert shutil.which("pdfsig"), "pdfsig is missing: install Debian's poppler-utils"
    checked = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
    assert "Signature is Valid" in checked.stdout, checked.stdout + checked.stderr
    return path
