"""Fixtures for petition-svc's unit tests: the app on a migrated SQLite file, staff tokens."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer, samples
from petition import create_app
from petition.config import Settings
from petition.tables import Petition
from sqlalchemy import func, select

MIGRATIONS = Path(__file__).parents[1] / "src" / "petition" / "migrations"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "petition.db"
    upgrade(f"sqlite:///{path}", MIGRATIONS)
    return path


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path, jwks_url: str) -> Iterator[Flask]:
    database_file = tmp_path / "petition.db"
    shutil.copy(migrated_template, database_file)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{database_file}",
        attachments_dir=str(tmp_path / "attachments"),
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        log_json=False,
    )
    app = create_app(settings)
    yield app
    app.extensions["mai_database"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def clerk(token_issuer: TokenIssuer) -> Callable[[str], dict[str, str]]:
    def headers(unit: str = "IGPR") -> dict[str, str]:
        return {"Authorization": f"Bearer {token_issuer.staff('petition_clerk', unit, subject='clerk-' + unit)}"}

    return headers


@pytest.fixture
def counts(app: Flask) -> Callable[[], tuple[int, int]]:
    """(petitions, outbox events) in the database now."""

    def read() -> tuple[int, int]:
        with app.extensions["mai_database"].session() as session:
            return (
                int(session.scalar(select(func.count()).select_from(Petition)) or 0),
                int(session.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
            )

    return read


@pytest.fixture
def outbox(app: Flask) -> Callable[[], list[tuple[str, str]]]:
    """(event type, payload) of every outbox row, in order."""

    def read() -> list[tuple[str, str]]:
        with app.extensions["mai_database"].session() as session:
            rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
            return [(row.event_type, row.payload) for row in rows]

    return read


def petition_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Semafor defect",
        "text": "Semaforul de la intersecția străzilor Mihai Vodă și Sfinții Apostoli nu funcționează.",
        "name": "Ana Popescu",
        "email": "ana.popescu@example.ro",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


PDF = samples.sample_pdf()
PNG = samples.sample_png()
