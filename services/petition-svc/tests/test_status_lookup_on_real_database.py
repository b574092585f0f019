"""The petitioner's status lookup on PostgreSQL, where its one statement runs on the driver's own
cursor outside a transaction: the same answer as through the ORM, and nothing for a wrong address."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from mai_chassis import Database, FixedClock
from petition.attachments import AttachmentStore
from petition.config import Settings
from petition.deps import PetitionDeps
from petition.directory import load_directory
from petition.errors import PetitionNotFound
from petition.handlers import Sender, StatusLookup, SubmitPetition, look_up_status, submit_petition
from sqlalchemy import text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "petition" / "migrations"
REGISTERED = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("petition_lookup", MIGRATIONS)


@pytest.fixture
def deps(tmp_path: Path, database: Database) -> PetitionDeps:
    settings = Settings(environment="test", database_url=database.url, attachments_dir=str(tmp_path / "files"))
    return PetitionDeps(settings=settings, directory=load_directory(), store=AttachmentStore(tmp_path / "files"))


def submit(database: Database, deps: PetitionDeps, subject: str) -> str:
    command = SubmitPetition(
        kind="petition",
        institution="IGPR",
        field="road-traffic",
        subject=subject,
        text="Semaforul de la intersecție nu funcționează.",
        name="Ana Popescu",
        email="Ana.Popescu@example.ro",
        sender=Sender(client_address="198.51.100.7"),
    )
    with database.unit_of_work(source="petition-svc", clock=FixedClock(REGISTERED)) as uow:
        return submit_petition(uow, deps, command).registration_number


def test_the_status_is_read_by_number_and_address(database: Database, deps: PetitionDeps) -> None:
    first, second = submit(database, deps, "Semafor"), submit(database, deps, "Indicator")
    with database.engine.begin() as connection:  # the second is joined to the first, which is answered
        connection.execute(
            text(
                "UPDATE petitions SET status = 'answered', answer = 'Reparat.', answered_at = :at"
                " WHERE registration_number = :number"
            ),
            {"at": REGISTERED, "number": first},
        )
        connection.execute(
            text(
                "UPDATE petitions SET status = 'closed', closure = 'joined',"
                " joined_to_id = (SELECT id FROM petitions WHERE registration_number = :first)"
                " WHERE registration_number = :second"
            ),
            {"first": first, "second": second},
        )
    with database.reading(source="petition-svc") as uow:
        status = look_up_status(uow, deps, StatusLookup(second.lower(), " ana.popescu@EXAMPLE.ro"))
    assert (status.registration_number, status.status, status.closure) == (second, "closed", "joined")
    assert (status.registered_at, status.answer_due_on, status.deadline_extended) == (
        REGISTERED,
        date(2026, 11, 20),
        False,
    )
    assert status.joined_to is not None and status.joined_to.registration_number == first
    assert (status.answering.answer, status.answering.answered_at) == ("Reparat.", REGISTERED)
    assert status.repeat_of is None and status.forwarded_from is None
    with pytest.raises(PetitionNotFound), database.reading(source="petition-svc") as uow:
        look_up_status(uow, deps, StatusLookup(second, "someone.else@example.ro"))
    with pytest.raises(PetitionNotFound), database.reading(source="petition-svc") as uow:
        look_up_status(uow, deps, StatusLookup("IGPR-2026-999999", "ana.popescu@example.ro"))
