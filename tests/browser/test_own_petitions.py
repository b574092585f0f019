"""A signed-in citizen: signing in through the portal, a petition sent while signed in, their own list."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from record_testing import make_cnp

from .conftest import set_language

PASSWORD = "correct horse battery staple 7"


def _confirmed_account(site: str, mail: Any) -> str:
    """An account made and confirmed through the API (the account pages are tested on their own)."""
    email = f"maria.{uuid.uuid4().hex[:10]}@example.ro"
    made = requests.post(
        f"{site}/api/v1/accounts",
        json={
            "email": email,
            "password": PASSWORD,
            "last_name": "Ionescu",
            "first_name": "Maria",
            "cnp": make_cnp(),
            "language": "ro",
        },
        timeout=15,
    )
    assert made.status_code == 202, made.text
    message = mail.wait_for(lambda m: email in str(m["To"]) and "citizen_id=" in m.as_string(), timeout=60)
    text = "".join(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    link = next(url for url in re.findall(r"https?://\S+", text) if "citizen_id=" in url)
    sent = parse_qs(urlsplit(link).query)
    confirmed = requests.post(
        f"{site}/api/v1/accounts/email-confirmation",
        json={"citizen_id": sent["citizen_id"][0], "code": sent["code"][0]},
        timeout=15,
    )
    assert confirmed.status_code == 204, confirmed.text
    return email


def test_a_signed_in_citizen_finds_the_petition_they_sent_in_their_own_list(
    page: Any, site: str, mail: Any, check_accessibility
) -> None:
    email = _confirmed_account(site, mail)

    page.goto("/petitions/mine")  # not signed in yet: the sign-in page, then back here
    assert "/sign-in" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/petitions/mine")
    assert "Nu ați trimis nicio petiție" in page.locator("main").inner_text()

    page.goto("/petitions/new?institution=IGSU")
    page.check("input[name=kind][value=petition]")
    page.select_option("#field", "emergencies")
    page.fill("#subject", "Hidrant defect")
    page.fill("#text", "Hidrantul de pe strada Lalelelor nr. 5 curge de o săptămână.")
    page.fill("#name", "Maria Ionescu")
    page.fill("#email", email)
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    number = page.locator("#registration-number").inner_text().strip()

    page.goto("/petitions/mine")
    assert number in page.locator("table").inner_text()
    check_accessibility(page)
    set_language(page, "en")
    assert "Registered" in page.locator("table").inner_text()
    check_accessibility(page)

    page.click(".account-nav button[type=submit]")  # sign out
    page.goto("/petitions/mine")
    assert "/sign-in" in page.url
