"""Fixtures for record-svc's API tests: a migrated SQLite database, fakes for identity-svc."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis import TokenVerifier
from mai_chassis.clock import FixedClock
from mai_chassis.migrations import upgrade
from mai_chassis.testing import TokenIssuer
from record import create_app
from record.config import Settings
from record.domain import CivilStatus
from record.service import definition
from record.testing import FakeCivilStatus, make_person

HASH_KEY = "unit-tests-only-registry-hash-key-0123456789"


@pytest.fixture(scope="session")
def signing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signing") / "record-signing"


@pytest.fixture
def settings(tmp_path: Path, signing_dir: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'record.db'}"
    upgrade(url, definition.migrations)
    return Settings(
        environment="test",
        log_json=False,
        database_url=url,
        identity_url="http://127.0.0.1:9",
        registry_hash_key=HASH_KEY,
        certificates_dir=str(tmp_path / "certificates"),
        development_signing_dir=str(signing_dir),
        public_base_url="https://e-services.mai.gov.ro",
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def civil_status() -> FakeCivilStatus:
    return FakeCivilStatus()


@pytest.fixture
def app(
    settings: Settings, clock: FixedClock, civil_status: FakeCivilStatus, token_issuer: TokenIssuer
) -> Iterator[Flask]:
    verifier = TokenVerifier(jwks=token_issuer.jwks, issuer=token_issuer.issuer, audience=token_issuer.audience)
    app = create_app(settings, clock=clock, civil_status=civil_status, token_verifier=verifier)
    yield app
    app.extensions["mai_database"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Citizen:
    """A citizen with an account, civil-status data and a token."""

    def __init__(self, issuer: TokenIssuer, fake: FakeCivilStatus, *, verified: bool = True, **person: Any) -> None:
        self.id = str(uuid.uuid4())
        self.person: CivilStatus = fake.add(self.id, make_person(**person))
        self.token = issuer.citizen(self.id, verified=verified)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def new_citizen(token_issuer: TokenIssuer, civil_status: FakeCivilStatus) -> Any:
    def factory(**options: Any) -> Citizen:
        return Citizen(token_issuer, civil_status, **options)

    return factory
