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
from identity.testing import add_signing_key, make_settings
from mai_chassis.db import Database
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from sqlalchemy import select


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    url = f"sqlite:///{tmp_path}/identity.db"
    upgrade(url, MIGRATIONS)
    configured = make_settings(url)
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
