"""A citizen downloads their data and deletes their account in a real browser, on the whole platform.

The download is the ZIP every service contributed to; the deletion asks for the password, says
beside the field when it is wrong, and ends on a page that lists what was kept and why (and a
mail says the same). Every page on the way is checked with axe-core, in Romanian and in English.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform
from record_testing import make_cnp

PASSWORD = "trei cuvinte fără legătură"
MAIL_WAIT = 60


def _text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def _registered_and_confirmed(site: str, mail: SmtpSink) -> tuple[str, str]:
    """A confirmed account made through the API (the browser tests of registration cover those pages)."""
    email, cnp = f"elena.{uuid.uuid4().hex[:10]}@example.ro", make_cnp()
    answer = requests.post(
        f"{site}/api/v1/accounts",
        json={"email": email, "password": PASSWORD, "last_name": "Dobre", "first_name": "Elena", "cnp": cnp},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    message = mail.wait_for(lambda m: email in str(m["To"]) and "/account/confirm-email" in _text(m), timeout=MAIL_WAIT)
    link = re.search(r"(http\S+/account/confirm-email\?\S+)", _text(message))
    assert link
    sent = parse_qs(urlsplit(link.group(1)).query)
    confirmed = requests.post(
        f"{site}/api/v1/accounts/email-confirmation",
        json={"citizen_id": sent["citizen_id"][0], "code": sent["code"][0]},
        timeout=30,
    )
    assert confirmed.status_code == 204, confirmed.text
    return email, cnp


def _set_language(page: Any, language: str) -> None:
    with page.expect_navigation():
        page.locator(f".language-switch a[hreflang='{language}']").click()


def _check_in_both_languages(page: Any, check_accessibility: Callable[[Any], None]) -> None:
    check_accessibility(page)
    _set_language(page, "en")
    check_accessibility(page)
    _set_language(page, "ro")


def test_a_citizen_downloads_their_data_then_deletes_the_account(
    portal_platform: Platform,
    mail: SmtpSink,
    site: str,
    page: Any,
    check_accessibility: Callable[[Any], None],
    screenshot: Callable[[Any, str], Path],
) -> None:
    email, cnp = _registered_and_confirmed(site, mail)
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.goto("/account")

    # The download: one ZIP, each service's part, the citizen's own data.
    with page.expect_download() as download:
        page.click("main a >> text=Descărcați-vă datele")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert {"README.txt", "identity-svc.json", "petition-svc.json", "notify-svc.json"} <= set(archive.namelist())
    identity = json.loads(archive.read("identity-svc.json"))
    assert identity["data"]["account"]["email"] == email and identity["data"]["civil_status"]["cnp"] == cnp

    # The deletion: what goes and what stays is said before; a wrong password is said beside the field.
    page.click("main a >> text=Ștergeți contul")
    page.wait_for_url("**/account/delete")
    _check_in_both_languages(page, check_accessibility)
    page.fill("#password", "nu este parola mea")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary a[href='#password']").is_visible()
    assert "Parola este greșită" in page.inner_text("main")
    check_accessibility(page)
    screenshot(page, "account-delete")

    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.locator("h1 >> text=Contul dumneavoastră a fost șters").wait_for()
    main = page.inner_text("main")
    assert "Petițiile trimise de dumneavoastră" in main and "Legea 16/1996" in main
    assert "Certificatele de cazier judiciar" in main
    check_accessibility(page)
    screenshot(page, "account-deleted")

    notice = mail.wait_for(lambda m: email in str(m["To"]) and "șters" in str(m["Subject"]), timeout=MAIL_WAIT)
    assert "Ce se păstrează" in _text(notice)
    # Signed out, and the account is gone.
    page.goto("/account")
    page.wait_for_url(re.compile(r".*/sign-in\?next=/account$"))
    gone = requests.post(f"{site}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert gone.status_code == 401
