"""Fixtures for petition-svc's handler unit tests: an in-memory unit of work and the service's deps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mai_chassis import FixedClock
from mai_chassis.auth import Principal
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.attachments import AttachmentStore
from petition.config import Settings
from petition.deps import PetitionDeps
from petition.directory import load_directory
from petition.handlers import SubmitPetition, submit_petition
from petition.tables import Base, Petition

#: Wednesday 21 October 2026, 09:00 UTC (12:00 in Bucharest): the answer is due on Friday
#: 20 November, a forward on Monday 26 October.
REGISTERED = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(REGISTERED)


@pytest.fixture
def uow(clock: FixedClock) -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, clock=clock, source="petition-svc")
    yield fake
    fake.close()


@pytest.fixture
def deps(tmp_path: Path) -> PetitionDeps:
    settings = Settings(environment="test", database_url="sqlite://", attachments_dir=str(tmp_path / "attachments"))
    return PetitionDeps(settings=settings, directory=load_directory(), store=AttachmentStore(tmp_path / "attachments"))


def petition_form(**changes: Any) -> SubmitPetition:
    values: dict[str, Any] = {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Semafor defect",
        "text": "Semaforul de la intersecția străzilor Mihai Vodă și Sfinții Apostoli nu funcționează.",
        "name": "Ana Popescu",
        "email": "ana.popescu@example.ro",
    }
    values.update(changes)
    return SubmitPetition(**values)


@pytest.fixture
def submit(uow: FakeUnitOfWork, deps: PetitionDeps) -> Callable[..., Petition]:
    """Submit a petition through the handler (``changes`` alter the form); returns it."""

    def submit(**changes: Any) -> Petition:
        return submit_petition(uow, deps, petition_form(**changes))

    return submit


def clerk_of(*units: str, subject: str = "clerk-1") -> Principal:
    return Principal(subject=subject, kind="staff", roles=frozenset(("petition_clerk", unit) for unit in units))
