"""Fixtures of identity-svc's unit tests: a migrated SQLite database, a signing key, the app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from identity import create_app
from identity.config import Settings
from identity.service import MIGRATIONS
from identity.testing import add_signing_key, make_settings, provider_settings
from mai_chassis.db import Database
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from mai_devtools.eid_provider import LocalEidProvider
from sqlalchemy import select


@pytest.fixture(scope="session")
def eid_provider() -> Iterator[LocalEidProvider]:
    """A real OpenID Connect provider on loopback (its own process), the tests' "bank-card" provider."""
    with LocalEidProvider() as provider:
        yield provider


@pytest.fixture
def settings(tmp_path: Any, eid_provider: LocalEidProvider) -> Settings:
    url = f"sqlite:///{tmp_path}/identity.db"
    upgrade(url, MIGRATIONS)
    configured = make_settings(url, eid_providers=(provider_settings(eid_provider.issuer),))
    add_signing_key(configured)
    return configured


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["mai_database"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def published(app: Flask) -> Callable[[str], list[dict[str, Any]]]:
    """The events in the outbox of a given type, as their data payloads."""

    def read(event_type: str) -> list[dict[str, Any]]:
        database: Database = app.extensions["mai_database"]
        with database.session() as session:
            rows = session.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.seq)
            )
            return [json.loads(r.payload)["data"] for r in rows]

    return read


@pytest.fixture
def open_sealed(settings: Settings) -> Callable[[str], str]:
    """What notify-svc does with a sealed field: opens it with the shared sealing keys."""
    from mai_chassis.sealing import Sealer

    return Sealer(list(settings.sealing_keys)).open


@pytest.fixture
def register_citizen(
    client: FlaskClient, published: Callable[[str], list[dict[str, Any]]], open_sealed: Callable[[str], str]
) -> Callable[..., dict[str, Any]]:
    """Registers and confirms a citizen, logs in; returns ids and tokens."""

    def register(**overrides: Any) -> dict[str, Any]:
        from identity.testing import CITIZEN

        body = {**CITIZEN, **overrides}
        assert client.post("/api/v1/accounts", json=body).status_code == 202
        request = [
            e
            for e in published("ro.mai.account.email_confirmation_requested.v1")
            if e["recipient"]["email"] == body["email"].lower()
        ][-1]
        code = open_sealed(request["sealed_confirmation"])
        confirmed = client.post(
            "/api/v1/accounts/email-confirmation", json={"citizen_id": request["citizen_id"], "code": code}
        )
        assert confirmed.status_code == 204, confirmed.get_json()
        tokens = client.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
        assert tokens.status_code == 200, tokens.get_json()
        return {"citizen_id": request["citizen_id"], **tokens.get_json(), "body": body}

    return register


@pytest.fixture
def sign_token(app: Flask) -> Callable[..., str]:
    """Signs an access token with the service's own key ring (for staff members in unit tests)."""
    import time
    import uuid

    def sign(*, subject: str | None = None, kind: str = "staff", roles: list[str] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": "mai-identity",
            "aud": "mai-eservices",
            "sub": subject or str(uuid.uuid4()),
            "kind": kind,
            "roles": roles or [],
            "acr": "none",
            "typ": "access",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return str(app.extensions["identity_deps"].keys.sign(payload))

    return sign


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
