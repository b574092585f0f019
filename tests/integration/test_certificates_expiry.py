"""Six months after issue a certificate verifies as expired (record-svc on PostgreSQL, clock injected)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from mai_chassis import OutboxRelay, TokenVerifier
from mai_chassis.clock import FixedClock
from mai_chassis.migrations import upgrade
from mai_chassis.testing import TokenIssuer, read_events
from record import create_app
from record.config import Settings
from record.service import definition
from record.testing import FakeCivilStatus, make_person

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def civil_status() -> FakeCivilStatus:
    return FakeCivilStatus()


@pytest.fixture
def app(
    database_factory: Callable[..., str],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
    clock: FixedClock,
    civil_status: FakeCivilStatus,
    tmp_path: Path,
) -> Iterator[Flask]:
    url = database_factory("record")
    upgrade(url, definition.migrations)
    settings = Settings(
        environment="test",
        log_json=False,
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        identity_url="http://127.0.0.1:9",
        registry_hash_key=uuid.uuid4().hex + uuid.uuid4().hex,
        certificates_dir=str(tmp_path / "certificates"),
        development_signing_dir=str(tmp_path / "signing"),
    )
    verifier = TokenVerifier(jwks=token_issuer.jwks, issuer=token_issuer.issuer, audience=token_issuer.audience)
    app = create_app(settings, clock=clock, civil_status=civil_status, token_verifier=verifier)
    yield app
    app.extensions["mai_database"].dispose()


def test_after_six_months_a_certificate_verifies_as_expired_and_cannot_be_downloaded(
    app: Flask,
    clock: FixedClock,
    civil_status: FakeCivilStatus,
    token_issuer: TokenIssuer,
    kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    citizen_id = str(uuid.uuid4())
    person = civil_status.add(citizen_id, make_person())
    headers = {"Authorization": f"Bearer {token_issuer.citizen(citizen_id)}"}
    client = app.test_client()
    body = client.post("/api/v1/certificates", json={"purpose": "studies"}, headers=headers).get_json()
    check = {"number": body["registration_number"], "cnp": person.cnp}

    relay = OutboxRelay(
        app.extensions["mai_database"],
        service="record-svc",
        bootstrap_servers=kafka_bootstrap_servers,
        topic_prefix=topic_prefix,
    )
    assert relay.publish_batch() == 2
    issued = read_events(kafka_bootstrap_servers, topic_prefix + "certificate.issued", until=lambda got: len(got) >= 1)
    assert issued[0].data["valid_until"] == body["valid_until"].replace("+00:00", "Z")

    issued_at, valid_until = (datetime.fromisoformat(body[k]) for k in ("issued_at", "valid_until"))
    assert valid_until - issued_at >= timedelta(days=181)  # six calendar months
    clock.advance(valid_until - clock.now() - timedelta(hours=1))  # an hour before the end
    assert client.post("/api/v1/certificates/verifications", json=check).get_json()["result"] == "valid"
    clock.advance(timedelta(hours=2))
    assert client.post("/api/v1/certificates/verifications", json=check).get_json()["result"] == "expired"
    assert client.get(f"/api/v1/certificates/{body['id']}/pdf", headers=headers).status_code == 410
