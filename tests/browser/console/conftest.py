"""What the staff console's browser tests share: staff accounts made as an administrator makes them.

The first administrator comes from identity-svc's ``create-admin`` command. Every other member is
created by that administrator through the staff API with the roles the test needs, and chooses a
password with the code of the invitation mail — as a new member of staff would. Each then enrols
an authenticator (the secret kept on the ``Member``, whose codes pyotp computes as the phone
would), so that every sign-in, in the browser or through the API, takes a second factor.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from mai_devtools import SmtpSink
from mai_devtools.local_platform import BIN, Platform

# Fixtures: the test office's counter slots, and an immigration officer there (acting through the API).
from ..immigration.conftest import office_slots, officer  # noqa: F401

PASSWORD = "Parola-de-serviciu-2026!"
TIMEOUT = 20
MAIL_WAIT = 45
CONSOLE = "/staff"


@dataclass
class Member:
    email: str
    password: str
    access_token: str = ""
    #: The authenticator's secret once enrolled, and the time step of the last code used
    #: (identity-svc accepts each step's code once).
    totp_secret: str = ""
    last_step: int = -1

    def next_code(self) -> str:
        """The code of the earliest time step identity-svc still accepts (waiting for one if needed)."""
        while True:
            now = time.time()
            if now % 30 > 27:  # too close to the next step: the code could be stale on arrival
                time.sleep(30 - now % 30 + 0.2)
                continue
            current = int(now) // 30
            step = next((s for s in (current, current + 1) if s > self.last_step), None)
            if step is not None:
                self.last_step = step
                return str(pyotp.TOTP(self.totp_secret).at(step * 30))
            time.sleep(30 - now % 30 + 0.2)

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
    pair = answer.json()
    if "challenge_token" in pair:
        assert pair["step"] == "second_factor" and member.totp_secret, pair
        answer = requests.post(
            f"{site}/api/v1/auth/second-factor",
            json={"challenge_token": pair["challenge_token"], "code": member.next_code()},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        pair = answer.json()
    member.access_token = pair["access_token"]


def enrol_authenticator(site: str, member: Member) -> list[str]:
    """Enrol an authenticator through the API as the signed-in member; the recovery codes."""
    started = requests.post(
        f"{site}/api/v1/auth/second-factor/totp/enrolment", json={}, headers=member.auth, timeout=TIMEOUT
    )
    assert started.status_code == 201, started.text
    member.totp_secret = started.json()["secret"]
    confirmed = requests.post(
        f"{site}/api/v1/auth/second-factor/totp/enrolment/confirmation",
        json={"code": member.next_code()},
        headers=member.auth,
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 200, confirmed.text
    return list(confirmed.json()["recovery_codes"])


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
    enrol_authenticator(portal_platform.gateway_url, member)
    return member


@pytest.fixture(scope="session")
def new_member(portal_platform: Platform, mail: SmtpSink, administrator: Member):  # type: ignore[no-untyped-def]
    """``new_member("petition_clerk@IGPR", ...)``: a staff account with these roles, its password set."""
    site = portal_platform.gateway_url

    def make(*roles: str, name: str = "Ion Funcționar", authenticator: bool = True) -> Member:
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
        if authenticator:
            api_login(site, member)
            enrol_authenticator(site, member)
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
    if member.totp_secret:
        assert page.url.endswith("/staff/sign-in/code"), page.url
        page.fill("#code", member.next_code())
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
    from record_testing import make_cnp

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
