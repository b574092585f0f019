"""Idempotency-Key: a retried creating POST returns the first result instead of a duplicate."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from flask import Flask, jsonify
from mai_chassis import ConfigurationError, Database, Problem, ServiceSettings, create_service_app, idempotent
from mai_chassis.idempotency import KEY_TTL, purge_expired_records, request_fingerprint
from mai_chassis.tables import IdempotencyRecord
from sqlalchemy import select, update


@dataclass(frozen=True, kw_only=True)
class IdemSettings(ServiceSettings):
    service_name: ClassVar[str] = "idem-test-svc"


@pytest.fixture
def app(sqlite_database: Database) -> Flask:
    settings = IdemSettings(database_url=sqlite_database.url, kafka_bootstrap_servers="", log_json=False)
    app = create_service_app(settings, import_name=__name__, database=sqlite_database)
    counter = itertools.count(1)

    @app.post("/petitions")
    @idempotent
    def create():  # type: ignore[no-untyped-def]
        number = next(counter)
        return jsonify(number=number), 201, {"Location": f"/petitions/{number}"}

    @app.post("/refusals")
    @idempotent
    def refuse():  # type: ignore[no-untyped-def]
        raise Problem(422, f"refused #{next(counter)}")

    @app.post("/challenged")
    @idempotent
    def challenged():  # type: ignore[no-untyped-def]
        from flask import request

        if request.headers.get("Proof-Of-Work") != "solved":
            raise Problem(428, "solve the challenge first", kind="challenge-required")
        return jsonify(number=next(counter)), 201

    return app


def test_a_request_refused_for_a_challenge_may_be_sent_again_with_the_same_key(app: Flask) -> None:
    client = app.test_client()
    key = {"Idempotency-Key": "k-428"}
    assert client.post("/challenged", json={"a": 1}, headers=key).status_code == 428
    solved = client.post("/challenged", json={"a": 1}, headers={**key, "Proof-Of-Work": "solved"})
    assert solved.status_code == 201 and "Idempotent-Replayed" not in solved.headers
    replayed = client.post("/challenged", json={"a": 1}, headers=key)
    assert replayed.status_code == 201 and replayed.get_json() == solved.get_json()


def test_without_a_key_each_request_creates(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/petitions", json={}).get_json() == {"number": 1}
    assert client.post("/petitions", json={}).get_json() == {"number": 2}


def test_a_retry_with_the_same_key_replays_the_first_response(app: Flask) -> None:
    client = app.test_client()
    first = client.post("/petitions", json={"a": 1}, headers={"Idempotency-Key": "k-1"})
    again = client.post("/petitions", json={"a": 1}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() == {"number": 1}
    assert again.headers["Location"] == "/petitions/1"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.post("/petitions", json={"a": 1}, headers={"Idempotency-Key": "k-2"}).get_json() == {"number": 2}


def test_the_same_key_for_a_different_body_is_refused(app: Flask) -> None:
    client = app.test_client()
    client.post("/petitions", json={"a": 1}, headers={"Idempotency-Key": "k-1"})
    response = client.post("/petitions", json={"a": 2}, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert response.get_json()["type"].endswith("idempotency-key-reused")


def test_client_errors_are_replayed_too(app: Flask) -> None:
    client = app.test_client()
    first = client.post("/refusals", json={}, headers={"Idempotency-Key": "k-9"})
    again = client.post("/refusals", json={}, headers={"Idempotency-Key": "k-9"})
    assert first.status_code == again.status_code == 422
    assert again.get_json()["detail"] == first.get_json()["detail"]


def test_an_oversized_key_is_refused(app: Flask) -> None:
    response = app.test_client().post("/petitions", json={}, headers={"Idempotency-Key": "x" * 201})
    assert response.status_code == 400


# --- what a record keeps, and for how long ---------------------------------------------------

FINGERPRINT_KEY = "k" * 40


@pytest.fixture
def accounts_app(sqlite_database: Database) -> Flask:
    settings = IdemSettings(
        database_url=sqlite_database.url,
        kafka_bootstrap_servers="",
        log_json=False,
        request_fingerprint_key=FINGERPRINT_KEY,
    )
    app = create_service_app(settings, import_name=__name__, database=sqlite_database)
    counter = itertools.count(1)

    @app.post("/accounts")
    @idempotent
    def register():  # type: ignore[no-untyped-def]
        return jsonify(account=next(counter)), 202

    @app.post("/payments")
    @idempotent(secret_fields=("iban",))
    def pay():  # type: ignore[no-untyped-def]
        return jsonify(payment=next(counter)), 201

    return app


def _registration(**changes: str) -> dict[str, str]:
    return {"email": "ana@example.ro", "password": "correct horse battery", "cnp": "1800101221144"} | changes


def _stored_fingerprints(database: Database) -> dict[str, str]:
    with database.session() as session:
        return {record.key: record.request_hash for record in session.scalars(select(IdempotencyRecord))}


def test_the_stored_fingerprint_carries_nothing_of_the_password_or_the_cnp(
    accounts_app: Flask, sqlite_database: Database
) -> None:
    client = accounts_app.test_client()
    first = _registration()
    other_secrets = _registration(password="another passphrase", cnp="2900202223357")
    body = json.dumps(first).encode()
    assert client.post("/accounts", json=first, headers={"Idempotency-Key": "k-1"}).status_code == 202
    assert client.post("/accounts", json=other_secrets, headers={"Idempotency-Key": "k-2"}).status_code == 202
    third = client.post("/accounts", json=_registration(email="ion@example.ro"), headers={"Idempotency-Key": "k-3"})
    assert third.status_code == 202

    stored = _stored_fingerprints(sqlite_database)
    # Whatever the secrets, the same fingerprint: it cannot tell one password or CNP from another.
    assert stored["k-1"] == stored["k-2"]
    assert stored["k-3"] != stored["k-1"]
    # And it is keyed: not the plain hash of the body, nor of the body without its secrets.
    assert stored["k-1"] != hashlib.sha256(body + b"application/json").hexdigest()
    assert stored["k-1"] != hashlib.sha256(json.dumps({"email": "ana@example.ro"}).encode()).hexdigest()
    assert stored["k-1"] == request_fingerprint(body, "application/json", key=FINGERPRINT_KEY)
    assert stored["k-1"] != request_fingerprint(body, "application/json", key="another-key-" * 4)


def test_a_route_declares_its_own_secret_fields(accounts_app: Flask) -> None:
    client = accounts_app.test_client()
    first = client.post(
        "/payments", json={"amount": 10, "iban": "RO49AAAA1B31007593840000"}, headers={"Idempotency-Key": "p"}
    )
    again = client.post(
        "/payments", json={"amount": 10, "iban": "RO09BCYP0000001234567890"}, headers={"Idempotency-Key": "p"}
    )
    changed = client.post(
        "/payments", json={"amount": 11, "iban": "RO49AAAA1B31007593840000"}, headers={"Idempotency-Key": "p"}
    )
    assert again.get_json() == first.get_json()
    assert changed.status_code == 422


def _age_record(database: Database, key: str, age: timedelta) -> None:
    with database.session() as session:
        session.execute(
            update(IdempotencyRecord).where(IdempotencyRecord.key == key).values(created_at=datetime.now(UTC) - age)
        )
        session.commit()


def test_expired_records_are_purged_and_a_retry_of_a_fresh_one_still_gets_the_first_result(
    accounts_app: Flask, sqlite_database: Database
) -> None:
    client = accounts_app.test_client()
    for key in ("old-1", "old-2", "old-3", "fresh"):
        client.post("/accounts", json=_registration(email=f"{key}@example.ro"), headers={"Idempotency-Key": key})
    for key in ("old-1", "old-2", "old-3"):
        _age_record(sqlite_database, key, KEY_TTL + timedelta(minutes=1))
    _age_record(sqlite_database, "fresh", KEY_TTL - timedelta(minutes=1))

    assert purge_expired_records(sqlite_database, batch_size=2) == 3
    assert set(_stored_fingerprints(sqlite_database)) == {"fresh"}
    retried = client.post(
        "/accounts", json=_registration(email="fresh@example.ro"), headers={"Idempotency-Key": "fresh"}
    )
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json() == {"account": 4}


def test_every_service_command_line_can_purge_expired_records(sqlite_database: Database, monkeypatch: Any) -> None:
    from click.testing import CliRunner
    from mai_chassis.service import ServiceDefinition, _build_cli

    with sqlite_database.session() as session:
        session.add(IdempotencyRecord(scope="s", key="old", request_hash="0" * 64))
        session.add(IdempotencyRecord(scope="s", key="new", request_hash="0" * 64))
        session.commit()
    _age_record(sqlite_database, "old", timedelta(days=2))
    monkeypatch.setenv("DATABASE_URL", sqlite_database.url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("LOG_JSON", "false")
    definition = ServiceDefinition(name="idem-test-svc", settings_class=IdemSettings, create_app=lambda s: None)
    result = CliRunner().invoke(_build_cli(definition), ["purge-idempotency"])
    assert result.exit_code == 0, result.output
    assert "1 expired idempotency records purged" in result.output
    assert set(_stored_fingerprints(sqlite_database)) == {"new"}


def test_a_production_web_process_does_not_start_without_a_fingerprint_key(sqlite_database: Database) -> None:
    settings = IdemSettings(database_url=sqlite_database.url, environment="production", log_json=False)
    with pytest.raises(ConfigurationError, match="REQUEST_FINGERPRINT_KEY"):
        create_service_app(settings, import_name=__name__, database=sqlite_database)


def test_a_key_past_its_lifetime_is_taken_by_the_next_request_as_new(app: Flask, sqlite_database: Database) -> None:
    client = app.test_client()
    client.post("/petitions", json={"a": 1}, headers={"Idempotency-Key": "k-old"})
    _age_record(sqlite_database, "k-old", KEY_TTL + timedelta(minutes=1))

    # Not purged yet: the old record is replaced, whatever its body was.
    reused = client.post("/petitions", json={"a": 2}, headers={"Idempotency-Key": "k-old"})
    replayed = client.post("/petitions", json={"a": 2}, headers={"Idempotency-Key": "k-old"})

    assert reused.status_code == 201 and "Idempotent-Replayed" not in reused.headers
    assert reused.get_json() == {"number": 2}
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json() == {"number": 2}
