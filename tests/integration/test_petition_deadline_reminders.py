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
from mai_chassis import Database, FixedClock
from mai_chassis.auth import Principal
from mai_chassis.migrations import upgrade
from mai_chassis.tables import OutboxEvent
from petition import handlers
from petition.config import Settings
from petition.deps import PetitionDeps, build_deps
from petition.domain import Closure
from petition.service import remind_all_deadlines
from sqlalchemy import select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"
REMINDER = "ro.mai.petition.deadline_reminder_issued.v1"
SERVICE = "petition-svc"
CLERK = Principal(subject="clerk-1", kind="staff", roles=frozenset({("petition_clerk", "IGPR")}))
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
def deps(database: Database, tmp_path: Path) -> PetitionDeps:
    return build_deps(
        Settings(environment="test", database_url=database.url, attachments_dir=str(tmp_path / "attachments"))
    )


@pytest.fixture
def register(database: Database, deps: PetitionDeps) -> Callable[..., str]:
    def register(subject: str, *, assigned: bool = True) -> str:
        petition = handlers.SubmitPetition(
            kind="petition",
            institution="IGPR",
            field="road-traffic",
            subject=subject,
            text=f"{subject}: semaforul de la intersecție nu funcționează.",
            name="Ana Popescu",
            email="ana.popescu@example.ro",
        )
        clock = FixedClock(REGISTERED)
        with database.unit_of_work(source=SERVICE, clock=clock) as uow:
            number = handlers.submit_petition(uow, deps, petition).registration_number
        if assigned:
            with database.unit_of_work(source=SERVICE, clock=clock) as uow:
                handlers.assign_petition(uow, deps, handlers.AssignPetition(number, CLERK))
        return number

    return register


def remind(database: Database, deps: PetitionDeps, at: datetime) -> list[str]:
    """Run the reminder job at ``at``; the registration numbers it reminded of."""
    with database.unit_of_work(source=SERVICE, clock=FixedClock(at)) as uow:
        reminded = handlers.remind_deadlines(uow, deps, handlers.RemindDeadlines(working_days=3))
        return [petition.registration_number for petition in reminded]


def reminders(database: Database) -> list[dict]:
    with database.session() as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == REMINDER).order_by(OutboxEvent.seq)
        ).all()
        return [json.loads(row.payload)["data"] for row in rows]


def test_nothing_is_reminded_a_day_early_and_the_reminder_comes_once(database, deps, register) -> None:
    number = register("Semafor defect")
    assert remind(database, deps, morning(16)) == []  # Monday: four working days before the deadline
    assert remind(database, deps, morning(17)) == [number]
    assert remind(database, deps, morning(17)) == []
    assert remind(database, deps, morning(19)) == []
    [reminder] = reminders(database)
    mai_contracts.validate(REMINDER, reminder)
    assert reminder["registration_number"] == number
    assert (reminder["answer_due_on"], reminder["working_days_left"]) == ("2026-11-20", 3)
    assert reminder["assignee"] == "clerk-1"
    assert "recipient" not in reminder and "ana.popescu@example.ro" not in json.dumps(reminder)


def test_an_extended_deadline_is_reminded_again_on_its_own_day(database, deps, register) -> None:
    number = register("Semafor defect")
    assert remind(database, deps, morning(17)) == [number]
    with database.unit_of_work(source=SERVICE, clock=FixedClock(morning(17))) as uow:
        extension = handlers.ExtendDeadline(number, CLERK, days=5, reason="Verificări la fața locului")
        handlers.extend_deadline(uow, deps, extension)
    # New deadline: Wednesday 25 November, reminded from Friday 20 November.
    assert remind(database, deps, morning(19)) == []
    assert remind(database, deps, morning(20)) == [number]
    assert remind(database, deps, morning(23)) == []
    assert [r["answer_due_on"] for r in reminders(database)] == ["2026-11-20", "2026-11-25"]
    assert reminders(database)[-1]["deadline_extended"] is True


def test_unassigned_closed_and_overdue_petitions_are_not_reminded(database, deps, register) -> None:
    register("Nimeni nu lucrează la ea", assigned=False)
    withdrawn = register("Retrasă")
    with database.unit_of_work(source=SERVICE) as uow:
        handlers.close_petition(uow, deps, handlers.ClosePetition(withdrawn, CLERK, Closure.WITHDRAWN))
    register("Uitată")
    assert remind(database, deps, morning(17)) != []  # the one assigned, open petition
    assert remind(database, deps, morning(23)) == []  # past its deadline: the overdue queue shows it
    assert len(reminders(database)) == 1


def test_parallel_runs_of_the_job_remind_each_deadline_once(database, deps, register) -> None:
    numbers = {register(f"Sesizarea {i}") for i in range(30)}

    def run(_: int) -> int:
        return remind_all_deadlines(database, deps, working_days=3, batch_size=4, clock=FixedClock(morning(18)))

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
