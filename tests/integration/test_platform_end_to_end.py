"""The platform as real processes: citizens' requests through the gateway end as the right e-mails."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from mai_chassis.testing import TokenIssuer, wait_until
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform

pytestmark = pytest.mark.integration


def petition(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Semafor defect",
        "text": "Semaforul de la intersecția străzilor Lalelelor și Florilor nu funcționează de o săptămână.",
        "name": "Ion Popescu",
        "email": f"ion.{uuid.uuid4().hex[:6]}@example.ro",
        "language": "ro",
    }
    body.update(changes)
    return body


def test_a_petition_submitted_through_the_gateway_is_registered_and_mailed(
    start_platform: Callable[..., Platform], mail_sink: SmtpSink
) -> None:
    platform = start_platform(["petition", "notify"])
    ready = requests.get(f"{platform.gateway_url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text

    response = requests.post(
        f"{platform.gateway_url}/api/v1/petitions",
        json=petition(),
        headers={"X-Request-ID": "walking-skeleton-1"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == "walking-skeleton-1"
    number = response.json()["registration_number"]

    mail = mail_sink.wait_for(lambda m: number in _plain_text(m), timeout=30)
    assert "@example.ro" in mail["To"]
    # The request id travelled with the request into the service's own log.
    assert "walking-skeleton-1" in platform["petition-web"].log()
    for service in ("petition", "notify"):
        assert requests.get(f"{platform.url(service)}/metrics", timeout=5).status_code == 200


def _plain_text(message: Any) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def test_a_forwarded_then_answered_petition_brings_the_petitioner_both_mails(
    start_platform: Callable[..., Platform], mail_sink: SmtpSink, token_issuer: TokenIssuer, jwks_url: str
) -> None:
    platform = start_platform(["petition", "notify"], extra_env={"JWT_JWKS_URL": jwks_url})
    gateway = platform.gateway_url
    body = petition(institution="IGPR", field="road-traffic")
    created = requests.post(f"{gateway}/api/v1/petitions", json=body, timeout=10)
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]

    police = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGPR')}"}
    forwarded = requests.post(
        f"{gateway}/api/v1/petitions/{number}/forwarding", json={"to_institution": "IGSU"}, headers=police, timeout=10
    )
    assert forwarded.status_code == 200, forwarded.text
    emergencies = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGSU')}"}
    answer = "Semaforul a fost reparat de echipa de intervenție."
    answered = requests.post(
        f"{gateway}/api/v1/petitions/{number}/answer", json={"text": answer}, headers=emergencies, timeout=10
    )
    assert answered.status_code == 200, answered.text

    def mails_about_the_petition() -> list[Any]:
        return [m for m in mail_sink.messages() if number in _plain_text(m)]

    mails = wait_until(lambda: len(mails_about_the_petition()) >= 3 and mails_about_the_petition(), timeout=45)
    assert len(mails) == 3  # registered, forwarded, answered — each once
    assert all(body["email"] in m["To"] for m in mails)
    assert any(answer in _plain_text(m) for m in mails)
    assert any("IGSU" in _plain_text(m) or "Situații de Urgență" in _plain_text(m) for m in mails)
