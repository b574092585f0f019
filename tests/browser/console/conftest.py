"""What the staff console's browser tests share: staff accounts made as an administrator makes them.

The first administrator comes from identity-svc's ``create-admin`` command. Every other member is
created by that administrator through the staff API with the roles the test needs, and chooses a
password with the code of the invitation mail — as a new member of staff would.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mai_devtools import SmtpSink
from mai_devtools.platform import BIN, Platform

from ..immigration.conftest import office_slots  # noqa: F401 (a fixture: the test office's counter slots)

PASSWORD = "Parola-de-serviciu-2026!"
TIMEOUT = 20
MAIL_WAIT = 45
CONSOLE = "/staff"


@dataclass
class Member:
    email: str
    password: str
    access_token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def plain_text(message: Any) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def api_login(site: str, member: Member) -> None:
    answer = requests.post(
        f"{site}/api/v1/auth/login", json={"email": member.email, "password": member.password}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    member.access_token = answer.json()["access_token"]


@pytest.fixture(scope="session")
def administrator(portal_platform: Platform) -> Member:
    member = Member(email=f"admin.{uuid.uuid4().hex[:8]}@mai.gov.ro", password=PASSWORD)
    identity = portal_platform.processes["identity-web"]
    created = subprocess.run(
        [str(BIN / "identity-svc"), "create-admin", "--email", member.email, "--name", "Ana Admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=identity.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    api_login(portal_platform.gateway_url, member)
    return member


@pytest.fixture(scope="session")
def new_member(portal_platform: Platform, mail: SmtpSink, administrator: Member):  # type: ignore[no-untyped-def]
    """``new_member("petition_clerk@IGPR", ...)``: a staff account with these roles, its password set."""
    site = portal_platform.gateway_url

    def make(*roles: str, name: str = "Ion Funcționar") -> Member:
        member = Member(email=f"staff.{uuid.uuid4().hex[:8]}@mai.gov.ro", password=PASSWORD)
        grants = [{"role": r.split("@")[0], "unit": r.split("@")[1]} for r in roles]
        created = requests.post(
            f"{site}/api/v1/staff/accounts",
            json={"email": member.email, "name": name, "language": "ro", "roles": grants},
            headers={**administrator.auth, "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
        invitation = mail.wait_for(lambda m: member.email in str(m["To"]), timeout=MAIL_WAIT)
        link = next(w for w in plain_text(invitation).split() if "code=" in w and w.startswith("http"))
        code = parse_qs(urlsplit(link).query)["code"][0]
        chosen = requests.post(
            f"{site}/api/v1/auth/password-reset/confirm",
            json={"email": member.email, "code": code, "new_password": PASSWORD},
            timeout=TIMEOUT,
        )
        assert chosen.status_code == 204, chosen.text
        return member

    return make


def sign_in(page: Any, member: Member) -> None:
    """Through the console's sign-in page, as a member of staff would."""
    page.goto(f"{CONSOLE}/")
    assert "/staff/sign-in" in page.url
    page.fill("#email", member.email)
    page.fill("#password", member.password)
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 0, page.locator(".error-summary").inner_text()


@dataclass
class Citizen:
    email: str
    cnp: str
    last_name: str
    first_name: str
    counter_code: str = ""


def citizen_at_the_counter(site: str, mail: SmtpSink) -> Citizen:
    """A citizen with a confirmed e-mail and no verified identity, holding the code their account shows
    for a counter check (registered, confirmed and signed in through the API as the portal does)."""
    from record.testing import make_cnp

    citizen = Citizen(
        email=f"radu.{uuid.uuid4().hex[:8]}@example.ro", cnp=make_cnp(), last_name="Radu", first_name="Ion"
    )
    registered = requests.post(
        f"{site}/api/v1/accounts",
        json={
            "email": citizen.email,
            "password": PASSWORD,
            "last_name": citizen.last_name,
            "first_name": citizen.first_name,
            "cnp": citizen.cnp,
            "language": "ro",
        },
        timeout=TIMEOUT,
    )
    assert registered.status_code == 202, registered.text
    confirmation = mail.wait_for(
        lambda m: citizen.email in str(m["To"]) and "code=" in plain_text(m), timeout=MAIL_WAIT
    )
    link = next(w for w in plain_text(confirmation).split() if "code=" in w and w.startswith("http"))
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    confirmed = requests.post(
        f"{site}/api/v1/accounts/email-confirmation",
        json={"citizen_id": query["citizen_id"], "code": query["code"]},
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 204, confirmed.text
    member = Member(email=citizen.email, password=PASSWORD)
    api_login(site, member)
    issued = requests.post(f"{site}/api/v1/identity/counter-code", headers=member.auth, timeout=TIMEOUT)
    assert issued.status_code == 201, issued.text
    citizen.counter_code = issued.json()["counter_code"]
    return citizen
