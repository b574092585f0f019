"""The platform as real processes: a clerk's actions in petition-svc reach the administrators' audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from mai_chassis.testing import TokenIssuer, wait_until
from mai_devtools.local_platform import Platform

pytestmark = pytest.mark.integration


def test_a_clerks_forward_and_answer_are_on_the_audit_trail_for_administrators_only(
    start_platform: Callable[..., Platform], token_issuer: TokenIssuer, jwks_url: str
) -> None:
    platform = start_platform(["petition", "audit"], extra_env={"JWT_JWKS_URL": jwks_url})
    gateway = platform.gateway_url
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
    created = requests.post(f"{gateway}/api/v1/petitions", json=body, timeout=10)
    assert created.status_code == 201, created.text
    number = created.json()["registration_number"]
    police_clerk, emergencies_clerk = str(uuid.uuid4()), str(uuid.uuid4())

    def as_clerk(subject: str, unit: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', unit, subject)}"}

    forwarded = requests.post(
        f"{gateway}/api/v1/petitions/{number}/forwarding",
        json={"to_institution": "IGSU"},
        headers=as_clerk(police_clerk, "IGPR"),
        timeout=10,
    )
    assert forwarded.status_code == 200, forwarded.text
    answered = requests.post(
        f"{gateway}/api/v1/petitions/{number}/answer",
        json={"text": "Semaforul a fost reparat."},
        headers=as_clerk(emergencies_clerk, "IGSU"),
        timeout=10,
    )
    assert answered.status_code == 200, answered.text

    admin = {"Authorization": f"Bearer {token_issuer.staff('admin', '*')}"}

    def trail() -> list[dict[str, Any]]:
        response = requests.get(f"{gateway}/api/v1/audit/actions?subject_type=petition", headers=admin, timeout=10)
        assert response.status_code == 200, response.text
        return [r for r in response.json()["records"] if r["subject"]["number"] == number]

    records = wait_until(lambda: len(trail()) >= 2 and trail(), timeout=45, what="the clerks' actions on the trail")
    assert [(r["action"], r["actor_id"], r["unit"], r["service"]) for r in records] == [
        ("petition.answer", emergencies_clerk, "IGSU", "petition-svc"),
        ("petition.forward", police_clerk, "IGPR", "petition-svc"),
    ]
    refused = requests.get(f"{gateway}/api/v1/audit/actions", headers=as_clerk(police_clerk, "IGPR"), timeout=10)
    assert refused.status_code == 403
