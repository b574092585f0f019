"""What the immigration browser tests share: a verified citizen, an officer, office slots, mail reading.

Citizens are set up through the public API as the account pages would (register, confirm the mailed
code, sign in, verify with the bank card at the local OpenID Connect provider). The officer is an
administrator made with identity-svc's ``create-admin`` command who grants itself the immigration
officer's role at the test office, and acts through the API, as the staff console would.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from booking.catalog import load_catalog
from booking.slot_horizon import generate_between
from booking.tables import Slot
from mai_chassis import Database
from mai_chassis.testing import wait_until
from mai_devtools import SmtpSink
from mai_devtools.eid_provider import SUBSTANTIAL
from mai_devtools.local_platform import BIN, EID_PROVIDER, Platform
from record_testing import make_cnp
from sqlalchemy import func, select

PASSWORD = "Parola-lunga-2024!"
TIMEOUT = 20
MAIL_WAIT = 45
#: The office every immigration browser test applies at (slots are generated for it).
OFFICE = "IGI-CJ"
TRAVEL_DOCUMENTS = ("application-form", "travel-document-grounds", "photo", "fee-receipt")


@dataclass
class Person:
    email: str
    password: str
    access_token: str = ""
    citizen_id: str = ""
    #: The CNP the account was registered and verified with (kept only by the test).
    cnp: str = field(default="", repr=False)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def plain_text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def mail_to(sink: SmtpSink, address: str, words: str) -> str:
    """The text of the first mail to ``address`` whose text contains ``words``."""
    found = sink.wait_for(lambda m: address in str(m["To"]) and words in plain_text(m), timeout=MAIL_WAIT)
    return plain_text(found)


def mails_to(sink: SmtpSink, address: str, words: str) -> list[str]:
    return [plain_text(m) for m in sink.messages() if address in str(m["To"]) and words in plain_text(m)]


def log_in(site: str, person: Person) -> None:
    answer = requests.post(
        f"{site}/api/v1/auth/login", json={"email": person.email, "password": person.password}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    person.access_token = answer.json()["access_token"]


def identify_with_bank_card(platform: Platform, person: Person, cnp: str) -> None:
    """The card holder is identified at the local OpenID Connect provider, which sends code and state
    back to the portal's callback; the callback's work is done here through the API."""
    provider = platform.eid_provider
    assert provider is not None
    holder = f"card-holder-{uuid.uuid4().hex[:10]}"
    provider.enrol(holder, cnp=cnp, family_name="POPA", given_name="Elena", acr=SUBSTANTIAL)
    started = requests.post(
        f"{platform.gateway_url}/api/v1/identity/verifications",
        json={"provider": EID_PROVIDER},
        headers=person.auth,
        timeout=TIMEOUT,
    )
    assert started.status_code == 201, started.text
    back = provider.identify(started.json()["authorization_url"], holder)
    verified = requests.post(
        f"{platform.gateway_url}/api/v1/identity/verifications/callback",
        json={"state": back["state"], "code": back["code"]},
        headers=person.auth,
        timeout=TIMEOUT,
    )
    assert verified.status_code == 200, verified.text


def verified_citizen(
    portal_platform: Platform, mail: SmtpSink, *, language: str = "ro", cnp: str | None = None
) -> Person:
    """A citizen whose e-mail is confirmed and whose identity the bank-card provider verified (with
    ``cnp``, or a new one)."""
    site = portal_platform.gateway_url
    person = Person(email=f"elena.{uuid.uuid4().hex[:10]}@example.ro", password=PASSWORD, cnp=cnp or make_cnp())
    registered = requests.post(
        f"{site}/api/v1/accounts",
        json={
            "email": person.email,
            "password": PASSWORD,
            "last_name": "Popa",
            "first_name": "Elena",
            "cnp": person.cnp,
            "language": language,
        },
        timeout=TIMEOUT,
    )
    assert registered.status_code == 202, registered.text
    confirmation = mail_to(mail, person.email, "code=")
    link = next(word for word in confirmation.split() if "code=" in word and word.startswith("http"))
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    person.citizen_id = query["citizen_id"]
    confirmed = requests.post(
        f"{site}/api/v1/accounts/email-confirmation",
        json={"citizen_id": query["citizen_id"], "code": query["code"]},
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 204, confirmed.text
    log_in(site, person)

    identify_with_bank_card(portal_platform, person, person.cnp)
    log_in(site, person)  # a token that carries the new assurance level
    return person


@pytest.fixture
def citizen(portal_platform: Platform, mail: SmtpSink) -> Person:
    return verified_citizen(portal_platform, mail)


@pytest.fixture(scope="session")
def officer(portal_platform: Platform) -> Person:
    """An immigration officer at the test office: an administrator made with identity-svc's command
    line, who grants itself the officer's role there, signed in through the API."""
    person = Person(email=f"ofiter.{uuid.uuid4().hex[:8]}@igi.mai.gov.ro", password=PASSWORD)
    identity = portal_platform.processes["identity-web"]
    command = [str(BIN / "identity-svc"), "create-admin", "--email", person.email, "--name", "Ion Ofițer"]
    created = subprocess.run(
        [*command, "--password-stdin"],
        input=PASSWORD + "\n",
        env=identity.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    site = portal_platform.gateway_url
    log_in(site, person)
    # An admin holds no other role: it grants itself the officer's role at the test office (audited).
    admin_id = json.loads(base64.urlsafe_b64decode(person.access_token.split(".")[1] + "=="))["sub"]
    granted = requests.post(
        f"{site}/api/v1/staff/accounts/{admin_id}/roles",
        json={"role": "immigration_officer", "unit": OFFICE},
        headers=person.auth,
        timeout=TIMEOUT,
    )
    assert granted.status_code == 200, granted.text
    log_in(site, person)
    return person


@pytest.fixture(scope="session")
def office_slots(portal_platform: Platform) -> int:
    """Free counter slots at the test office for the next three weeks (generated here unless the
    platform's booking-svc already did)."""
    database = Database(portal_platform.database_urls["booking"], pool_size=1, max_overflow=0)
    today = datetime.now(UTC).date()
    try:
        generate_between(database, load_catalog(), today + timedelta(days=1), today + timedelta(days=21), [OFFICE])
        with database.session() as session:
            free = select(func.count()).select_from(Slot).where(Slot.office == OFFICE, Slot.is_booked.is_(False))
            return int(session.scalar(free) or 0)
    finally:
        database.dispose()


def review(site: str, officer: Person, application_id: str, decisions: dict[str, str | None]) -> dict[str, Any]:
    """The officer's decision on each document: None accepts it, a text rejects it with that feedback."""
    answer = requests.post(
        f"{site}/api/v1/immigration/applications/{application_id}/review",
        json={
            "documents": [
                {"document_type": code, "decision": "accepted"}
                if feedback is None
                else {"document_type": code, "decision": "rejected", "feedback": feedback}
                for code, feedback in decisions.items()
            ]
        },
        headers=officer.auth,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def application_of(site: str, person: Person, application_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{site}/api/v1/immigration/applications/{application_id}", headers=person.auth, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def start_application(site: str, person: Person) -> str:
    """A travel-document application at the test office, created through the API.

    booking-svc learns where the applicant's mails go from identity.verified, a moment after the
    verification: until then it answers 409 identity-not-verified, and nothing is created.
    """

    def created() -> str | None:
        answer = requests.post(
            f"{site}/api/v1/immigration/applications",
            json={"application_type": "travel-document", "office": OFFICE, "language": "ro"},
            headers={**person.auth, "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT,
        )
        if answer.status_code == 409:
            return None
        assert answer.status_code == 201, answer.text
        return str(answer.json()["application_id"])

    return str(wait_until(created, timeout=30, interval=0.3, what="booking-svc to know the verified applicant"))


MANAGE_LINK = re.compile(r"https?://\S+/appointments/manage/[A-Za-z0-9_.\-]+")


def manage_link_in(text: str) -> str:
    found = MANAGE_LINK.search(text)
    assert found, f"no appointment link in the mail:\n{text}"
    return found.group(0)


def book_appointment(site: str, mail: SmtpSink, officer: Person, citizen: Person) -> tuple[str, str]:
    """An application of ``citizen`` with accepted documents and a booked slot: (application id, mailed link)."""
    from mai_chassis.testing.samples import sample_jpeg, sample_pdf, sample_png

    application_id = start_application(site, citizen)
    scans = (sample_pdf(), sample_pdf(), sample_png(), sample_jpeg())
    for code, content in zip(TRAVEL_DOCUMENTS, scans, strict=True):
        uploaded = requests.put(
            f"{site}/api/v1/immigration/applications/{application_id}/documents/{code}",
            files={"file": (f"{code}.scan", content, "application/octet-stream")},
            headers=citizen.auth,
            timeout=TIMEOUT,
        )
        assert uploaded.status_code == 200, uploaded.text
    submitted = requests.post(
        f"{site}/api/v1/immigration/applications/{application_id}/submit", headers=citizen.auth, timeout=TIMEOUT
    )
    assert submitted.status_code == 200, submitted.text
    review(site, officer, application_id, dict.fromkeys(TRAVEL_DOCUMENTS))
    booked = requests.post(
        f"{site}/api/v1/appointments",
        json={"application_id": application_id, "earliest": True},
        headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )
    assert booked.status_code == 201, booked.text
    return application_id, manage_link_in(mail_to(mail, citizen.email, "/appointments/manage/"))
