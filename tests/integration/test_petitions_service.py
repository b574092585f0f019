"""petition-svc on a real PostgreSQL and Kafka: events on the topics, lookups, retries, refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from flask import Flask
from mai_chassis import OutboxRelay
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer, read_events
from petition import create_app
from petition.config import Settings
from petition.tables import Petition
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"
SUBMIT = "/api/v1/petitions"


def petition_body(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "petition",
        "institution": "MAI",
        "field": "public-order",
        "subject": "Iluminat stradal",
        "text": "Strada Florilor nu este iluminată noaptea de două luni.",
        "name": "Ana Popescu",
        "email": "ana.popescu@example.ro",
        "language": "en",
        **changes,
    }


@pytest.fixture
def service(
    database_factory: Callable[..., str], topic_prefix: str, kafka_bootstrap_servers: str, jwks_url: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """petition-svc's app on a fresh migrated database, and its outbox relay running on this test's topics."""
    url = database_factory("petition")
    upgrade(url, MIGRATIONS)
    settings = Settings(
        environment="test",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        attachments_dir=str(tmp_path / "attachments"),
        log_json=False,
    )
    app = create_app(settings)
    database = app.extensions["mai_database"]
    relay = OutboxRelay(
        database, service="petition-svc", bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix
    )
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield {"app": app, "client": app.test_client(), "prefix": topic_prefix, "servers": kafka_bootstrap_servers}
    finally:
        stop.set()
        thread.join(timeout=10)
        database.dispose()


def events_for(service: dict[str, Any], topic: str, subject: str, count: int = 1) -> list[Any]:
    events = read_events(
        service["servers"],
        service["prefix"] + topic,
        until=lambda got: len([e for e in got if e.subject == subject]) >= count,
        timeout=20,
    )
    return [event for event in events if event.subject == subject]


def counts(app: Flask) -> tuple[int, int]:
    with app.extensions["mai_database"].session() as session:
        return (
            int(session.scalar(select(func.count()).select_from(Petition)) or 0),
            int(session.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
        )


def petition_id(app: Flask, number: str) -> str:
    with app.extensions["mai_database"].session() as session:
        return str(session.scalar(select(Petition.id).where(Petition.registration_number == number)))


def test_submitted_petition_event_is_on_the_topic_and_matches_its_contract(service) -> None:
    response = service["client"].post(SUBMIT, json=petition_body())
    assert response.status_code == 201
    number = response.get_json()["registration_number"]
    [event] = events_for(service, "petition.submitted", petition_id(service["app"], number))
    mai_contracts.validate(event.type, event.data)
    assert event.type == "ro.mai.petition.submitted.v1"
    assert event.source == "petition-svc"
    assert event.data["registration_number"] == number
    assert event.data["recipient"]["email"] == "ana.popescu@example.ro"
    assert "1800101221144" not in json.dumps(event.data)


def test_forwarded_then_answered_petition_publishes_both_events(service, token_issuer: TokenIssuer) -> None:
    client = service["client"]
    number = client.post(SUBMIT, json=petition_body()).get_json()["registration_number"]
    ministry = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'MAI')}"}
    police = {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', 'IGPR')}"}
    forwarded = client.post(f"{SUBMIT}/{number}/forwarding", json={"to_institution": "IGPR"}, headers=ministry)
    assert forwarded.status_code == 200
    answered = client.post(f"{SUBMIT}/{number}/answer", json={"text": "Iluminatul a fost reparat."}, headers=police)
    assert answered.status_code == 200
    subject = petition_id(service["app"], number)
    [forward_event] = events_for(service, "petition.forwarded", subject)
    [answer_event] = events_for(service, "petition.answered", subject)
    [closed_event] = events_for(service, "petition.closed", subject)
    for event in (forward_event, answer_event, closed_event):
        mai_contracts.validate(event.type, event.data)
    assert (forward_event.data["from_institution"], forward_event.data["to_institution"]) == ("MAI", "IGPR")
    assert answer_event.data["institution"] == "IGPR"
    assert answer_event.data["answer"] == "Iluminatul a fost reparat."
    assert closed_event.data["outcome"] == "answered"


def test_status_lookup_with_a_wrong_email_reveals_nothing(service) -> None:
    client = service["client"]
    number = client.post(SUBMIT, json=petition_body()).get_json()["registration_number"]
    right = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": number, "email": "ana.popescu@example.ro"}
    )
    wrong = client.post(f"{SUBMIT}/status-lookup", json={"registration_number": number, "email": "ion@example.ro"})
    unknown = client.post(
        f"{SUBMIT}/status-lookup", json={"registration_number": "MAI-1999-000001", "email": "ion@example.ro"}
    )
    assert right.status_code == 200 and right.get_json()["status"] == "registered"
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]
    assert number not in wrong.get_data(as_text=True)


def test_idempotent_retry_returns_the_first_result(service) -> None:
    client = service["client"]
    headers = {"Idempotency-Key": "petition-retry-1"}
    first = client.post(SUBMIT, json=petition_body(), headers=headers)
    retry = client.post(SUBMIT, json=petition_body(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert counts(service["app"]) == (1, 1)


def test_refused_request_stores_and_publishes_nothing(service) -> None:
    client = service["client"]
    refused = [
        client.post(SUBMIT, json=petition_body(institution="NOPE")),
        client.post(SUBMIT, json=petition_body(text="x" * 20_000)),
        client.post(SUBMIT, json={**petition_body(), "cnp": "1800101221144"}),
        client.post(SUBMIT, data="not json", content_type="text/plain"),
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 415]
    assert counts(service["app"]) == (0, 0)
    # A later good one shows the topic carries only it.
    number = client.post(SUBMIT, json=petition_body()).get_json()["registration_number"]
    events = read_events(service["servers"], service["prefix"] + "petition.submitted", until=lambda got: len(got) >= 1)
    assert [event.data["registration_number"] for event in events] == [number]
