"""Idempotency-Key: a retried creating POST returns the first result instead of a duplicate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import pytest
from flask import Flask, jsonify
from mai_chassis import Database, Problem, ServiceSettings, create_service_app, idempotent


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

    return app


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
