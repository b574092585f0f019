"""Deadline reminders on PostgreSQL: issued on their day and not before, once per deadline, again
after an extension, never for an unassigned or a closed petition, never twice from parallel runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import mai_contracts
import pytest
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from petition import handlers
from petition.attachments import AttachmentStore
from petition.directory import load_directory
from petition.domain import Closure
from petition.handlers import NewPetition
from petition.service import remind_all_deadlines
from sqlalchemy import select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"
REMINDER = "ro.mai.petition.deadline_reminder_issued.v1"
SERVICE = "petition-svc"
#: Registered on Wednesday 21 October 2026: the answer is due on Friday 20 November, and with
#: three working days' notice the clerk is reminded on Tuesday 17 November.
REGISTERED = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)


def morning(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 6, 0, tzinfo=UTC)


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    url = database_factory("petition")
    upgrade(url, MIGRATIONS)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def register(database: Database, tmp_path: Path) -> Callable[..., str]:
    directory, store = load_directory(), AttachmentStore(tmp_path / "attachments")

    def register(subject: str, *, assignee: str | None = "clerk-1") -> str:
        petition = NewPetition(
            kind="petition",
            institution="IGPR",
            field="road-traffic",
            subject=subject,
            text=f"{subject}: semaforul de la intersecție nu funcționează.",
            name="Ana Popescu",
            email="ana.popescu@example.ro",
        )
        with database.unit_of_work(source=SERVICE) as uow:
            row = handlers.register_petition(uow, petition, directory=directory, store=store, at=REGISTERED)
            if assignee is not None:
                handlers.assign(uow, row, assignee=assignee, at=REGISTERED)
            uow.commit()
            return row.registration_number

    return register


def remind(database: Database, at: datetime) -> list[str]:
    """Run the reminder job at ``at``; the registration numbers it reminded of."""
    with database.unit_of_work(source=SERVICE) as uow:
        reminded = handlers.remind_deadlines(uow, working_days=3, at=at)
        uow.commit()
        return [petition.registration_number for petition in reminded]


def reminders(database: Database) -> list[dict]:
    with database.session() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == REMINDER).order_by(OutboxEvent.seq)
        ).all()
        return [json.loads(row.payload)["data"] for row in rows]


def test_nothing_is_reminded_a_day_early_and_the_reminder_comes_once(database, register) -> None:
    number = register("Semafor defect")
    assert remind(database, morning(16)) == []  # Monday: four working days before the deadline
    assert remind(database, morning(17)) == [number]
    assert remind(database, morning(17)) == []
    assert remind(database, morning(19)) == []
    [reminder] = reminders(database)
    mai_contracts.validate(REMINDER, reminder)
    assert reminder["registration_number"] == number
    assert (reminder["answer_due_on"], reminder["working_days_left"]) == ("2026-11-20", 3)
    assert reminder["assignee"] == "clerk-1"
    assert "recipient" not in reminder and "ana.popescu@example.ro" not in json.dumps(reminder)


def test_an_extended_deadline_is_reminded_again_on_its_own_day(database, register) -> None:
    number = register("Semafor defect")
    assert remind(database, morning(17)) == [number]
    with database.unit_of_work(source=SERVICE) as uow:
        petition = handlers.find_by_number(uow.session, number, for_update=True)
        handlers.extend_deadline(uow, petition, days=5, reason="Verificări la fața locului")
        uow.commit()
    # New deadline: Wednesday 25 November, reminded from Friday 20 November.
    assert remind(database, morning(19)) == []
    assert remind(database, morning(20)) == [number]
    assert remind(database, morning(23)) == []
    assert [r["answer_due_on"] for r in reminders(database)] == ["2026-11-20", "2026-11-25"]
    assert reminders(database)[-1]["deadline_extended"] is True


def test_unassigned_closed_and_overdue_petitions_are_not_reminded(database, register) -> None:
    register("Nimeni nu lucrează la ea", assignee=None)
    withdrawn = register("Retrasă")
    with database.unit_of_work(source=SERVICE) as uow:
        petition = handlers.find_by_number(uow.session, withdrawn, for_update=True)
        handlers.close(uow, petition, closure=Closure.WITHDRAWN)
        uow.commit()
    register("Uitată")
    assert remind(database, morning(17)) != []  # the one assigned, open petition
    assert remind(database, morning(23)) == []  # past its deadline: the overdue queue shows it
    assert len(reminders(database)) == 1


def test_parallel_runs_of_the_job_remind_each_deadline_once(database, register) -> None:
    numbers = {register(f"Sesizarea {i}") for i in range(30)}

    def run(_: int) -> int:
        return remind_all_deadlines(database, service=SERVICE, working_days=3, at=morning(18), batch_size=4)

    with ThreadPoolExecutor(max_workers=4) as pool:
        issued = list(pool.map(run, range(4)))
    assert sum(issued) == 30
    assert sorted(r["registration_number"] for r in reminders(database)) == sorted(numbers)


def test_petitions_forwarded_late_before_the_flag_existed_are_flagged_by_the_migration(
    database_factory: Callable[..., str],
) -> None:
    from alembic import command
    from mai_chassis.migrations import alembic_config
    from sqlalchemy import create_engine, text

    url = database_factory("petition")
    upgrade(url, None)  # the chassis tables
    command.upgrade(alembic_config(url, MIGRATIONS, "alembic_version"), "0002_submission_quotas")
    insert = text(
        "INSERT INTO petitions (id, registration_number, kind, channel, institution, field, subject, text, "
        "language, petitioner_name, petitioner_email, content_fingerprint, status, registered_at, answer_due_on, "
        "forward_due_on, forwarded_from, forwarded_at) VALUES (:id, :number, 'petition', 'web', 'IGPR', "
        "'road-traffic', 'Subiect', 'Text', 'ro', 'Ana Popescu', 'ana@example.ro', 'f', 'registered', "
        "'2026-03-09T10:00:00Z', '2026-04-20', '2026-03-16', 'MAI', :forwarded_at)"
    )
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            # 16 March is the forwarding deadline: 23:30 in Bucharest that day is in time, 00:30 the next is not.
            for number, forwarded_at in [
                ("IGPR-2026-000001", "2026-03-16T21:30:00Z"),
                ("IGPR-2026-000002", "2026-03-16T22:30:00Z"),
                ("IGPR-2026-000003", None),
            ]:
                connection.execute(
                    insert,
                    {
                        "id": f"00000000-0000-4000-8000-00000000000{number[-1]}",
                        "number": number,
                        "forwarded_at": forwarded_at,
                    },
                )
        upgrade(url, MIGRATIONS)
        with engine.connect() as connection:
            flags = dict(connection.execute(text("SELECT registration_number, forwarded_late FROM petitions")).all())
    finally:
        engine.dispose()
    assert flags == {"IGPR-2026-000001": False, "IGPR-2026-000002": True, "IGPR-2026-000003": False}
