"""A citizen's whole way to a criminal-record certificate, through the gateway, against real processes.

identity-svc, record-svc and notify-svc run as web + worker processes behind the gateway, on the
real broker and PostgreSQL, with mail going to an SMTP sink. The citizen does only what a browser
and a mailbox allow: register, read the code in the mail, confirm, log in, identify with the
bank-card provider (a real OpenID Connect provider on loopback), apply, download the signed PDF and check
it publicly.

One platform serves the whole module (starting one takes most of the time budget here); every
test makes its own citizens, with their own addresses, so the tests stay independent.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mai_chassis.testing import ensure_topics
from mai_devtools import SmtpSink
from mai_devtools.eid_provider import SUBSTANTIAL
from mai_devtools.local_platform import EID_CALLBACK_PATH, EID_PROVIDER, Platform
from record_testing import make_cnp

pytestmark = pytest.mark.integration

SERVICES = ["identity", "record", "notify"]
PASSWORD = "Parola-lunga-2024!"
TIMEOUT = 15
MAIL_WAIT = 30


# --- the platform, once for the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    mail = SmtpSink()
    mail.start()
    try:
        yield mail
    finally:
        mail.close()


@pytest.fixture(scope="module")
def platform(kafka_bootstrap_servers: str, database_factory: Callable[..., str], sink: SmtpSink) -> Iterator[Platform]:
    prefix = f"cj{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    started = Platform(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_urls={service: database_factory(service) for service in SERVICES},
        smtp_port=sink.port,
        services=SERVICES,
        topic_prefix=prefix,
    )
    try:
        started.start()
    except BaseException:
        print(started.logs())
        started.stop()
        raise
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def show_logs_on_failure(request: pytest.FixtureRequest, platform: Platform) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(platform.logs())


# --- what a citizen sees: mails, pages, tokens --------------------------------------------------


@dataclass
class Citizen:
    email: str
    cnp: str
    last_name: str = "Ionescu"
    first_name: str = "Maria"
    citizen_id: str = ""
    access_token: str = ""
    refresh_token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def plain_text(message: EmailMessage) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def mail_to(sink: SmtpSink, address: str, subject_words: str) -> EmailMessage:
    return sink.wait_for(
        lambda m: address in str(m["To"]) and subject_words.lower() in str(m["Subject"]).lower(), timeout=MAIL_WAIT
    )


def code_in(text: str) -> str:
    """The one-time code: the indented line of capitals and digits under "Your ... code is:"."""
    found = re.search(r"code is:\s*\n\s*\n?\s*([A-Z0-9-]{6,12})\s*\n", text)
    assert found, f"no code in the mail:\n{text}"
    return found.group(1)


def _json_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def token_claims(token: str) -> dict[str, Any]:
    return _json_part(token, 1)


# --- steps of the journey ------------------------------------------------------------------------


def register(base: str, *, language: str = "en") -> Citizen:
    citizen = Citizen(email=f"maria.{uuid.uuid4().hex[:10]}@example.ro", cnp=make_cnp())
    answer = requests.post(
        f"{base}/api/v1/accounts",
        json={
            "email": citizen.email,
            "password": PASSWORD,
            "last_name": citizen.last_name,
            "first_name": citizen.first_name,
            "cnp": citizen.cnp,
            "language": language,
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 202, answer.text
    return citizen


def confirm_and_log_in(platform: Platform, sink: SmtpSink, citizen: Citizen) -> None:
    """Take the code from the confirmation mail's link to the portal's page, confirm it, then log in."""
    base = platform.gateway_url
    text = plain_text(mail_to(sink, citizen.email, "confirmation code"))
    link = re.search(r"Confirm your e-mail address: (\S+)", text)
    assert link, text
    assert urlsplit(link.group(1)).path == "/account/confirm-email"  # a page whose button confirms
    sent = parse_qs(urlsplit(link.group(1)).query)
    assert sent["code"] == [code_in(text)]
    citizen.citizen_id = sent["citizen_id"][0]
    # Not confirmed yet: logging in is refused until the code is sent back.
    refused = requests.post(
        f"{base}/api/v1/auth/login", json={"email": citizen.email, "password": PASSWORD}, timeout=TIMEOUT
    )
    assert refused.status_code == 403 and refused.json()["type"].endswith("email-unconfirmed"), refused.text

    confirmed = requests.post(
        f"{base}/api/v1/accounts/email-confirmation",
        json={"citizen_id": citizen.citizen_id, "code": sent["code"][0]},
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 204, confirmed.text
    log_in(base, citizen)


def log_in(base: str, citizen: Citizen) -> None:
    tokens = requests.post(
        f"{base}/api/v1/auth/login", json={"email": citizen.email, "password": PASSWORD}, timeout=TIMEOUT
    )
    assert tokens.status_code == 200, tokens.text
    citizen.access_token = tokens.json()["access_token"]
    citizen.refresh_token = tokens.json()["refresh_token"]


def start_bank_card_identification(base: str, citizen: Citizen) -> dict[str, Any]:
    started = requests.post(
        f"{base}/api/v1/identity/verifications", json={"provider": EID_PROVIDER}, headers=citizen.auth, timeout=TIMEOUT
    )
    assert started.status_code == 201, started.text
    return started.json()  # type: ignore[no-any-return]


def identify_with_bank_card(platform: Platform, citizen: Citizen) -> dict[str, Any]:
    """The browser goes to the provider's page, the card holder is identified, the provider sends the
    browser back to the portal's callback page, and the portal hands code and state to identity-svc."""
    provider = platform.eid_provider
    assert provider is not None
    sub = f"card-holder-{uuid.uuid4().hex[:10]}"
    provider.enrol(
        sub, cnp=citizen.cnp, family_name=citizen.last_name.upper(), given_name=citizen.first_name, acr=SUBSTANTIAL
    )
    started = start_bank_card_identification(platform.gateway_url, citizen)
    kept_in_session = started["state"]
    assert started["authorization_url"].startswith(provider.issuer + "/")

    back = provider.identify(started["authorization_url"], sub)
    assert back["redirect_uri"] == platform.gateway_url + EID_CALLBACK_PATH
    assert back["state"] == kept_in_session
    verified = requests.post(
        f"{platform.gateway_url}/api/v1/identity/verifications/callback",
        json={"state": back["state"], "code": back["code"]},
        headers=citizen.auth,
        timeout=TIMEOUT,
    )
    assert verified.status_code == 200, verified.text
    return verified.json()  # type: ignore[no-any-return]


def refresh(base: str, citizen: Citizen) -> None:
    fresh = requests.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": citizen.refresh_token}, timeout=TIMEOUT)
    assert fresh.status_code == 200, fresh.text
    citizen.access_token = fresh.json()["access_token"]
    citizen.refresh_token = fresh.json()["refresh_token"]


def apply_for_certificate(base: str, citizen: Citizen, purpose: str = "employment") -> requests.Response:
    return requests.post(
        f"{base}/api/v1/certificates",
        json={"purpose": purpose, "language": "en"},
        headers={**citizen.auth, "Idempotency-Key": uuid.uuid4().hex},
        timeout=TIMEOUT,
    )


def verify_publicly(base: str, registration_number: str, cnp: str) -> dict[str, Any]:
    answer = requests.post(
        f"{base}/api/v1/certificates/verifications",
        json={"number": registration_number, "cnp": cnp},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def verified_citizen(platform: Platform, sink: SmtpSink) -> Citizen:
    citizen = register(platform.gateway_url)
    confirm_and_log_in(platform, sink, citizen)
    identify_with_bank_card(platform, citizen)
    refresh(platform.gateway_url, citizen)
    return citizen


# --- the journeys ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("show_logs_on_failure")
def test_a_citizen_gets_a_signed_certificate_online_and_anyone_can_check_it(
    platform: Platform, sink: SmtpSink, tmp_path: Path
) -> None:
    base = platform.gateway_url
    citizen = register(base)
    confirm_and_log_in(platform, sink, citizen)
    assert token_claims(citizen.access_token)["acr"] == "none"

    verified = identify_with_bank_card(platform, citizen)
    assert verified == {
        "citizen_id": citizen.citizen_id,
        "verified": True,
        "method": "eid_provider",
        "provider": EID_PROVIDER,
        "verification_id": verified["verification_id"],
        "assurance_level": "substantial",
        "verified_at": verified["verified_at"],
    }
    refresh(base, citizen)
    claims = token_claims(citizen.access_token)
    assert claims["acr"] == "substantial" and claims["sub"] == citizen.citizen_id
    # The refreshed token is genuine: it carries a key id that the published key set holds.
    kid = _json_part(citizen.access_token, 0)["kid"]
    jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=TIMEOUT).json()
    assert kid in {key["kid"] for key in jwks["keys"]}

    # What the citizen types into the profile besides the verified identity never reaches the certificate.
    address = "Str. Nevăzută nr. 13, Iași"
    edited = requests.patch(
        f"{base}/api/v1/identity/profiles/me", json={"address": address}, headers=citizen.auth, timeout=TIMEOUT
    )
    assert edited.status_code == 200, edited.text

    applied = apply_for_certificate(base, citizen)
    assert applied.status_code == 201, applied.text
    certificate = applied.json()
    assert certificate["status"] == "valid" and certificate["purpose"] == "employment"
    number = certificate["registration_number"]
    assert number and certificate["valid_until"] > certificate["issued_at"]

    pdf = requests.get(f"{base}{certificate['download_url']}", headers=citizen.auth, timeout=TIMEOUT)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    if shutil.which("pdfsig"):
        path = tmp_path / "certificate.pdf"
        path.write_bytes(pdf.content)
        checked = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
        assert "Signature is Valid" in checked.stdout, checked.stdout + checked.stderr
        assert "Total document signed" in checked.stdout, checked.stdout

    genuine = verify_publicly(base, number, citizen.cnp)
    assert genuine["result"] == "valid" and genuine["registration_number"] == number
    assert citizen.first_name not in (genuine["holder"] or "")  # the name is masked
    assert verify_publicly(base, number, make_cnp())["result"] == "not_found"

    # Whoever holds the paper checks it without the holder's CNP: the printed verification code.
    assert shutil.which("pdftotext"), "pdftotext is missing: install Debian's poppler-utils"
    path = tmp_path / "printed.pdf"
    path.write_bytes(pdf.content)
    printed = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=30).stdout
    code = re.search(r"Verification code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", printed)
    assert code, printed
    assert citizen.cnp in printed and citizen.last_name.upper() in printed
    assert address not in printed and "Domiciliul" not in printed
    by_code = requests.post(
        f"{base}/api/v1/certificates/verifications",
        json={"number": number, "verification_code": code.group(1).lower()},
        timeout=TIMEOUT,
    )
    assert by_code.status_code == 200 and by_code.json() == genuine

    issued_mail = mail_to(sink, citizen.email, number)
    assert "has been issued and signed electronically" in plain_text(issued_mail)
    assert citizen.cnp not in plain_text(issued_mail)
    assert f"/certificates/verify?number={number}" in plain_text(issued_mail)


@pytest.mark.usefixtures("show_logs_on_failure")
def test_an_unverified_citizen_is_told_how_to_verify_before_applying(platform: Platform, sink: SmtpSink) -> None:
    citizen = register(platform.gateway_url)
    confirm_and_log_in(platform, sink, citizen)

    refused = apply_for_certificate(platform.gateway_url, citizen)

    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["status"] == 403 and problem["type"].endswith("identity-not-verified")
    assert "Ghiseul.ro" in problem["detail"] and "counter" in problem["detail"]
    assert {m["method"] for m in problem["verification_methods"]} == {"eid_provider", "counter"}
    listed = requests.get(f"{platform.gateway_url}/api/v1/certificates", headers=citizen.auth, timeout=TIMEOUT)
    assert listed.status_code == 200 and listed.json()["items"] == []


@pytest.mark.usefixtures("show_logs_on_failure")
def test_a_citizen_cannot_see_another_citizens_profile_or_certificate(platform: Platform, sink: SmtpSink) -> None:
    base = platform.gateway_url
    holder = verified_citizen(platform, sink)
    applied = apply_for_certificate(base, holder)
    assert applied.status_code == 201, applied.text
    certificate = applied.json()
    other = register(base)
    confirm_and_log_in(platform, sink, other)

    own = requests.get(f"{base}/api/v1/identity/profiles/{holder.citizen_id}", headers=holder.auth, timeout=TIMEOUT)
    assert own.status_code == 200 and own.json()["verified"] is True

    for path in (
        f"/api/v1/identity/profiles/{holder.citizen_id}",
        f"/api/v1/certificates/{certificate['id']}",
        f"/api/v1/certificates/{certificate['id']}/pdf",
    ):
        foreign = requests.get(f"{base}{path}", headers=other.auth, timeout=TIMEOUT)
        assert foreign.status_code == 404, (path, foreign.status_code, foreign.text)
        assert foreign.headers["Content-Type"].startswith("application/problem+json")
        assert holder.cnp[-4:] not in foreign.text and holder.email not in foreign.text
    listed = requests.get(f"{base}/api/v1/certificates", headers=other.auth, timeout=TIMEOUT)
    assert listed.json()["items"] == []


@pytest.mark.usefixtures("show_logs_on_failure")
def test_a_verification_started_by_one_citizen_cannot_be_finished_by_another(
    platform: Platform, sink: SmtpSink
) -> None:
    """A lure: one citizen starts, another completes the provider's page and comes back with their
    own session. Neither account is verified, and the lure's state is spent."""
    base, provider = platform.gateway_url, platform.eid_provider
    assert provider is not None
    schemer, passer_by = register(base), register(base)
    for citizen in (schemer, passer_by):
        confirm_and_log_in(platform, sink, citizen)
    sub = f"card-holder-{uuid.uuid4().hex[:10]}"
    provider.enrol(sub, cnp=passer_by.cnp, family_name=passer_by.last_name, given_name=passer_by.first_name)
    lure = start_bank_card_identification(base, schemer)
    back = provider.identify(lure["authorization_url"], sub)
    callback = {"state": back["state"], "code": back["code"]}

    wrong_session = requests.post(
        f"{base}/api/v1/identity/verifications/callback", json=callback, headers=passer_by.auth, timeout=TIMEOUT
    )
    assert wrong_session.status_code == 404, wrong_session.text
    spent = requests.post(
        f"{base}/api/v1/identity/verifications/callback", json=callback, headers=schemer.auth, timeout=TIMEOUT
    )
    assert spent.status_code == 409 and spent.json()["type"].endswith("verification-used"), spent.text
    for citizen in (schemer, passer_by):
        profile = requests.get(f"{base}/api/v1/identity/profiles/me", headers=citizen.auth, timeout=TIMEOUT)
        assert profile.json()["verified"] is False
