"""The walking skeleton as real processes: a citizen's request through the gateway ends as an e-mail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from mai_devtools import SmtpSink
from mai_devtools.platform import Platform

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
