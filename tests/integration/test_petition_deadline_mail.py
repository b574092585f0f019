"""An extended answer deadline reaches the petitioner: through the broker to notify-svc and the mail server."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests
from mai_chassis.testing import TokenIssuer
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform

pytestmark = pytest.mark.integration

ROMANIAN_MONTHS = (
    "ianuarie", "februarie", "martie", "aprilie", "mai", "iunie",
    "iulie", "august", "septembrie", "octombrie", "noiembrie", "decembrie",
)  # fmt: skip


def _plain_text(message: Any) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def test_the_petitioner_is_mailed_the_extended_deadline_and_its_reason(
    start_platform: Callable[..., Platform], mail_sink: SmtpSink, token_issuer: TokenIssuer, jwks_url: str
) -> None:
    platform = start_platform(["petition", "notify"], extra_env={"JWT_JWKS_URL": jwks_url})
    gateway = platform.gateway_url
    email = f"ana.{uuid.uuid4().hex[:6]}@example.ro"
    created = requests.post(
        f"{gateway}/api/v1/petitions",
        json={
            "kind": "petition",
            "institution": "IGPR",
            "field": "road-traffic",
            "subject": "Semafor defect",
            "text": "Semaforul de la intersecția străzilor Lalelelor și Florilor nu funcționează.",
            "name": "Ana Popescu",
            "email": email,
            "language": "ro",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]

    clerk = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGPR')}"}
    reason = "Sunt necesare verificări la fața locului, împreună cu administrația drumurilor."
    extended = requests.post(
        f"{gateway}/api/v1/petitions/{number}/deadline-extension",
        json={"days": 15, "reason": reason},
        headers=clerk,
        timeout=10,
    )
    assert extended.status_code == 200, extended.text
    new_due = date.fromisoformat(extended.json()["answer_due_on"])
    assert new_due > date.fromisoformat(created.json()["answer_due_on"])

    mail = mail_sink.wait_for(lambda m: number in _plain_text(m) and reason in _plain_text(m), timeout=45)
    assert email in mail["To"]
    new_date = f"{new_due.day} {ROMANIAN_MONTHS[new_due.month - 1]} {new_due.year}"
    assert new_date in mail["Subject"]
    assert new_date in _plain_text(mail)
