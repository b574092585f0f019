"""A citizen's rights over their data, against real processes on the real broker and PostgreSQL.

identity, petition, record, booking and notify run as web + worker processes behind the gateway.
Two citizens use every service; one downloads their data (each service's part, nobody else's),
then deletes the account, and every service is seen following ``account.deleted``: what the law
keeps stays unlinked (the petition, the certificate), the rest goes, and a mail says so.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mai_chassis.testing import wait_until
from mai_devtools import SmtpSink
from mai_devtools.eid_provider import SUBSTANTIAL
from mai_devtools.local_platform import EID_PROVIDER, Platform
from record_testing import make_cnp

pytestmark = pytest.mark.integration

SERVICES = ["identity", "petition", "record", "booking", "notify"]
PASSWORD = "Parola-lunga-2024!"
TIMEOUT = 30
WAIT = 60


@pytest.fixture
def sink(mail_sink: SmtpSink) -> SmtpSink:
    return mail_sink


@pytest.fixture
def platform(start_platform: Callable[..., Platform]) -> Platform:
    return start_platform(SERVICES)


@dataclass
class Citizen:
    email: str
    cnp: str
    first_name: str
    citizen_id: str = ""
    access_token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def _mail(sink: SmtpSink, address: str, subject_words: str) -> EmailMessage:
    return sink.wait_for(
        lambda m: address in str(m["To"]) and subject_words.lower() in str(m["Subject"]).lower(), timeout=WAIT
    )


def _log_in(base: str, citizen: Citizen) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/auth/login", json={"email": citizen.email, "password": PASSWORD}, timeout=TIMEOUT
    )


def _verified_citizen(platform: Platform, sink: SmtpSink, first_name: str) -> Citizen:
    """Registered, confirmed (the code from the mail), identified with the bank card, signed in."""
    base = platform.gateway_url
    citizen = Citizen(
        email=f"{first_name.lower()}.{uuid.uuid4().hex[:10]}@example.ro", cnp=make_cnp(), first_name=first_name
    )
    registered = requests.post(
        f"{base}/api/v1/accounts",
        json={
            "email": citizen.email,
            "password": PASSWORD,
            "last_name": "Ionescu",
            "first_name": first_name,
            "cnp": citizen.cnp,
            "language": "en",
        },
        timeout=TIMEOUT,
    )
    assert registered.status_code == 202, registered.text
    link = re.search(r"Confirm your e-mail address: (\S+)", _text(_mail(sink, citizen.email, "confirmation code")))
    assert link
    sent = parse_qs(urlsplit(link.group(1)).query)
    citizen.citizen_id = sent["citizen_id"][0]
    confirmed = requests.post(
        f"{base}/api/v1/accounts/email-confirmation",
        json={"citizen_id": citizen.citizen_id, "code": sent["code"][0]},
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 204, confirmed.text
    tokens = _log_in(base, citizen)
    assert tokens.status_code == 200, tokens.text
    citizen.access_token = tokens.json()["access_token"]

    provider = platform.eid_provider
    assert provider is not None
    sub = f"card-holder-{uuid.uuid4().hex[:10]}"
    provider.enrol(sub, cnp=citizen.cnp, family_name="IONESCU", given_name=first_name, acr=SUBSTANTIAL)
    started = requests.post(
        f"{base}/api/v1/identity/verifications", json={"provider": EID_PROVIDER}, headers=citizen.auth, timeout=TIMEOUT
    )
    assert started.status_code == 201, started.text
    back = provider.identify(started.json()["authorization_url"], sub)
    verified = requests.post(
        f"{base}/api/v1/identity/verifications/callback",
        json={"state": back["state"], "code": back["code"]},
        headers=citizen.auth,
        timeout=TIMEOUT,
    )
    assert verified.status_code == 200, verified.text
    tokens = _log_in(base, citizen)  # a token that says the identity is verified
    citizen.access_token = tokens.json()["access_token"]
    return citizen


@dataclass
class Footprint:
    """What one citizen left in each service."""

    petition_number: str
    certificate_number: str
    application_id: str


def _use_every_service(platform: Platform, citizen: Citizen) -> Footprint:
    base = platform.gateway_url
    petition = requests.post(
        f"{base}/api/v1/petitions",
        json={
            "kind": "petition",
            "institution": "IGPR",
            "field": "road-traffic",
            "subject": "Semafor defect",
            "text": f"Semaforul de lângă casa lui {citizen.first_name} nu funcționează de o săptămână.",
            "name": f"{citizen.first_name} Ionescu",
            "email": citizen.email,
            "language": "en",
        },
        headers=citizen.auth,
        timeout=TIMEOUT,
    )
    assert petition.status_code == 201, petition.text

    # record-svc and booking-svc learn of the verified identity through identity.verified.
    def certificate() -> requests.Response | None:
        answer = requests.post(
            f"{base}/api/v1/certificates",
            json={"purpose": "employment", "language": "en"},
            headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT,
        )
        return answer if answer.status_code in (200, 201) else None

    issued = wait_until(certificate, timeout=WAIT)

    def application() -> requests.Response | None:
        answer = requests.post(
            f"{base}/api/v1/immigration/applications",
            json={"application_type": "travel-document", "office": "IGI-IS", "language": "en"},
            headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
            timeout=TIMEOUT,
        )
        return answer if answer.status_code == 201 else None

    drafted = wait_until(application, timeout=WAIT)
    return Footprint(
        petition_number=petition.json()["registration_number"],
        certificate_number=issued.json()["registration_number"],
        application_id=drafted.json()["application_id"],
    )


def _export(base: str, citizen: Citizen) -> dict[str, Any]:
    answer = requests.get(f"{base}/api/v1/accounts/me/export", headers=citizen.auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/zip"
    assert "no-store" in answer.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    return {name: archive.read(name).decode() for name in archive.namelist()}


def _part(platform: Platform, service: str, citizen: Citizen) -> dict[str, Any]:
    """A service's own export of what it holds about the citizen (asked directly, with their token)."""
    answer = requests.get(f"{platform.url(service)}/internal/v1/export", headers=citizen.auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


def test_a_citizen_downloads_only_their_data_then_deletes_the_account_and_every_service_follows(
    platform: Platform, sink: SmtpSink
) -> None:
    base = platform.gateway_url
    ana = _verified_citizen(platform, sink, "Ana")
    ion = _verified_citizen(platform, sink, "Ion")
    hers, his = _use_every_service(platform, ana), _use_every_service(platform, ion)
    _mail(sink, ana.email, "certificate")  # notify-svc holds mails to her by now

    files = _export(base, ana)
    assert set(files) == {
        "README.txt",
        "identity-svc.json",
        "petition-svc.json",
        "record-svc.json",
        "booking-svc.json",
        "notify-svc.json",
    }
    parts = {name.removesuffix(".json"): json.loads(text) for name, text in files.items() if name.endswith(".json")}
    assert all(part["subject"] == ana.citizen_id for part in parts.values())
    assert parts["identity-svc"]["data"]["civil_status"]["cnp"] == ana.cnp
    assert [p["registration_number"] for p in parts["petition-svc"]["data"]["petitions"]] == [hers.petition_number]
    assert [c["registration_number"] for c in parts["record-svc"]["data"]["certificate_applications"]] == [
        hers.certificate_number
    ]
    assert [a["id"] for a in parts["booking-svc"]["data"]["applications"]] == [hers.application_id]
    assert parts["notify-svc"]["data"]["notifications"]
    everything = "".join(files.values())
    for other in (ion.email, ion.cnp, ion.citizen_id, his.petition_number, his.certificate_number, his.application_id):
        assert other not in everything, "the download holds another citizen's data"

    refused = requests.delete(
        f"{base}/api/v1/accounts/me", json={"password": "not-my-password"}, headers=ana.auth, timeout=TIMEOUT
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("password-refused"), refused.text
    deleted = requests.delete(
        f"{base}/api/v1/accounts/me", json={"password": PASSWORD}, headers=ana.auth, timeout=TIMEOUT
    )
    assert deleted.status_code == 200, deleted.text
    assert {k["data_class"] for k in deleted.json()["kept"]} == {"closed-petitions", "expired-certificates"}

    notice = _text(_mail(sink, ana.email, "account was deleted"))
    assert "What is kept" in notice and "Law 16/1996" in notice
    assert _log_in(base, ana).status_code == 401

    # Every service follows the event (her access token lives on for minutes: each is asked with it).
    def followed() -> bool:
        petitions = _part(platform, "petition", ana)["petitions"]
        record = _part(platform, "record", ana)
        booking = _part(platform, "booking", ana)
        notify = _part(platform, "notify", ana)["notifications"]
        return (
            petitions == []
            and record == {"verified_identity": None, "certificate_applications": []}
            and booking == {"applications": [], "contact": None}
            and notify == []
        )

    wait_until(followed, timeout=WAIT)
    # What the law keeps stays, unlinked: her petition is still on the register, her certificate verifiable.
    status = requests.post(
        f"{base}/api/v1/petitions/status-lookup",
        json={"registration_number": hers.petition_number, "email": ana.email},
        timeout=TIMEOUT,
    )
    assert status.status_code == 200, status.text
    check = requests.post(
        f"{base}/api/v1/certificates/verifications",
        json={"number": hers.certificate_number, "cnp": ana.cnp},
        timeout=TIMEOUT,
    )
    assert check.status_code == 200 and check.json()["result"] == "valid", check.text
    # Nobody else's data moved.
    his_files = _export(base, ion)
    assert his.petition_number in his_files["petition-svc.json"]
    assert his.certificate_number in his_files["record-svc.json"]
    assert his.application_id in his_files["booking-svc.json"]
