"""Fixtures of identity-svc's handler unit tests: a fake unit of work (SQLite in memory, the outbox
in a list), a fixed clock and the service's dependencies — no Flask, no PostgreSQL, no Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from identity import handlers
from identity.commands import ConfirmEmail, RegisterCitizen
from identity.config import Settings
from identity.deps import IdentityDeps, build_deps
from identity.events import EmailConfirmationRequested
from identity.secrets_at_rest import FieldCipher
from identity.signing import create_signing_key
from identity.tables import Base, SigningKey
from identity.testing import CITIZEN, make_settings
from mai_chassis import FixedClock, Principal
from mai_chassis.testing.fakes import FakeUnitOfWork
from sqlalchemy.orm import Session

#: A Monday morning in Bucharest.
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


class _NoDatabase:
    """``build_deps`` reads only the session factory of the database: the fake's engine serves it."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def session(self) -> Session:
        return Session(self._uow.engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow(clock: FixedClock) -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, clock=clock, source="identity-svc")
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings("sqlite://")


@pytest.fixture(scope="session")
def signing_key(settings: Settings) -> dict[str, Any]:
    """One RSA signing key for the whole run (making one takes a good part of a second)."""
    made: list[SigningKey] = []
    row = create_signing_key(
        SimpleNamespace(add=made.append),  # type: ignore[arg-type]
        FieldCipher(settings.encryption_keys),
        signs_from=datetime.now(UTC) - timedelta(minutes=1),
    )
    return {column.key: getattr(row, column.key) for column in SigningKey.__table__.columns}


@pytest.fixture
def deps(uow: FakeUnitOfWork, settings: Settings, signing_key: dict[str, Any]) -> IdentityDeps:
    """The real dependencies, built as ``create_app`` builds them, the signing key in the fake's database."""
    with Session(uow.engine) as session:
        session.add(SigningKey(**signing_key))
        session.commit()
    return build_deps(settings, _NoDatabase(uow))  # type: ignore[arg-type]


@pytest.fixture
def register(uow: FakeUnitOfWork, deps: IdentityDeps) -> Callable[..., uuid.UUID]:
    """Registers and confirms a citizen through the handlers; returns the account id."""

    def run(**overrides: Any) -> uuid.UUID:
        handlers.register_citizen(uow, deps, RegisterCitizen(**{**CITIZEN, **overrides}))
        request = uow.events_of(EmailConfirmationRequested)[-1]
        code = deps.sealer.open(request.sealed_confirmation)
        handlers.confirm_email(uow, deps, ConfirmEmail(citizen_id=str(request.citizen_id), code=code))
        return request.citizen_id

    return run


@pytest.fixture
def staff_member() -> Callable[..., Principal]:
    """A staff member holding ``role@unit`` roles (as their verified token would say)."""

    def make(*roles: str) -> Principal:
        pairs = frozenset((role, unit) for role, unit in (r.split("@", 1) for r in roles))
        return Principal(subject=str(uuid.uuid4()), kind="staff", roles=pairs)

    return make
