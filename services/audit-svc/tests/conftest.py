"""What audit-svc's tests share: a migrated audit database, a staff-action event, superuser tampering."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mai_chassis import Database, Event
from sqlalchemy import create_engine, text

MIGRATIONS = Path(__file__).parents[1] / "src" / "audit" / "migrations"
#: The instant the events of a test took effect, unless told otherwise.
OCCURRED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def audit_database(database_factory: Callable[..., str]) -> Iterator[Database]:
    from mai_chassis.migrations import upgrade

    url = database_factory("audit")
    upgrade(url, MIGRATIONS)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def staff_action_event() -> Callable[..., Event]:
    """A petition clerk's action as audit-svc's consumer receives it (``minutes`` after OCCURRED)."""

    def make(*, minutes: int = 0, actor: str = "clerk-1") -> Event:
        return Event(
            id=str(uuid.uuid4()),
            type="ro.mai.petition.staff_action.v1",
            source="petition-svc",
            subject=None,
            time=None,
            data={
                "action_id": str(uuid.uuid4()),
                "actor": actor,
                "role": "petition_clerk",
                "unit": "IGPR",
                "action": "petition.answer",
                "subject": {"type": "petition", "id": str(uuid.uuid4()), "number": "IGPR-2026-000001"},
                "occurred_at": (OCCURRED + timedelta(minutes=minutes)).isoformat(),
                "outcome": "succeeded",
            },
        )

    return make


def as_superuser(database: Database, statement: str) -> None:
    """Tampering as only the database's superuser can: with the append-only triggers switched off."""
    engine = create_engine(database.url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def superuser() -> Callable[[Database, str], None]:
    """``superuser(database, statement)``: runs the statement as :func:`as_superuser` does."""
    return as_superuser
