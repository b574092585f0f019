"""Registration on PostgreSQL, where one statement takes the number and writes the petition, its
attachments and its events: numbers stay gapless and unique under concurrent submits, a failed
registration gives its number back, and the events carry the number taken."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mai_chassis import Database, FixedClock
from mai_chassis.testing import samples
from petition.attachments import AttachmentStore
from petition.config import Settings
from petition.deps import PetitionDeps
from petition.directory import load_directory
from petition.handlers import Sender, SubmitPetition, UploadedAttachment, submit_petition
from petition.handlers import submission as submission_module
from petition.tables import Petition
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "petition" / "migrations"
REGISTERED = datetime(2026, 10, 21, 9, 0, tzinfo=UTC)
PDF = UploadedAttachment(content=samples.sample_pdf(), media_type="application/pdf", display_name="scan.pdf")


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("petition_numbers", MIGRATIONS, pool_size=8, max_overflow=0)


@pytest.fixture
def deps(tmp_path: Path, database: Database) -> PetitionDeps:
    settings = Settings(environment="test", database_url=database.url, attachments_dir=str(tmp_path / "files"))
    return PetitionDeps(settings=settings, directory=load_directory(), store=AttachmentStore(tmp_path / "files"))


def form(n: int = 0, **changes: Any) -> SubmitPetition:
    values: dict[str, Any] = {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": f"Semafor defect {n}",
        "text": "Semaforul de la intersecție nu funcționează de trei zile.",
        "name": "Ana Popescu",
        "email": f"ana.{n}@example.ro",
        "sender": Sender(client_address="198.51.100.7"),
    }
    values.update(changes)
    return SubmitPetition(**values)


def register(database: Database, deps: PetitionDeps, command: SubmitPetition) -> Petition:
    with database.unit_of_work(source="petition-svc", clock=FixedClock(REGISTERED)) as uow:
        return submit_petition(uow, deps, command)


def submit(database: Database, deps: PetitionDeps, command: SubmitPetition) -> str:
    return register(database, deps, command).registration_number


def rows(database: Database, sql: str) -> list[Any]:
    with database.engine.connect() as connection:
        return list(connection.execute(text(sql)))


def test_concurrent_submits_to_one_institution_get_consecutive_numbers(database: Database, deps: PetitionDeps) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda n: submit(database, deps, form(n)), range(40)))
    assert sorted(numbers) == [f"IGPR-2026-{n:06d}" for n in range(1, 41)]
    assert rows(database, "SELECT last_sequence FROM registration_counters") == [(40,)]
    stored = rows(database, "SELECT registration_number FROM petitions ORDER BY registration_number")
    assert [row[0] for row in stored] == sorted(numbers)
    payloads = rows(database, "SELECT payload FROM outbox_events")
    announced = sorted(json.loads(payload)["data"]["registration_number"] for (payload,) in payloads)
    assert announced == sorted(numbers)


def test_a_registration_that_fails_gives_its_number_back(
    database: Database, deps: PetitionDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = uuid.uuid4()
    assert submit(database, deps, form(1)) == "IGPR-2026-000001"
    monkeypatch.setattr(submission_module.uuid, "uuid4", lambda: taken)
    assert submit(database, deps, form(2)) == "IGPR-2026-000002"
    with pytest.raises(IntegrityError):  # the same petition id again: the statement fails as a whole
        submit(database, deps, form(3))
    monkeypatch.undo()
    assert submit(database, deps, form(4)) == "IGPR-2026-000003"
    assert rows(database, "SELECT count(*) FROM petitions") == [(3,)]
    assert rows(database, "SELECT count(*) FROM outbox_events") == [(3,)]


def test_every_column_is_written_as_registered(database: Database, deps: PetitionDeps) -> None:
    citizen = Sender(client_address="198.51.100.7", account_id=str(uuid.uuid4()), account_kind="citizen")
    registered = register(database, deps, form(1, phone="+40 721 000 000", address="Str. Lungă 1", sender=citizen))
    with database.session() as session:
        stored = session.get(Petition, registered.id)
        assert stored is not None
        for column in Petition.__table__.columns:
            assert getattr(stored, column.key) == getattr(registered, column.key), column.key
    assert (stored.registered_at, stored.citizen_id, stored.status) == (REGISTERED, citizen.account_id, "registered")
    assert stored.petitioner_email == "ana.1@example.ro" and stored.deadline_extended is False


def test_a_petition_with_attachments_and_a_repeat_are_written_whole(database: Database, deps: PetitionDeps) -> None:
    first = submit(database, deps, form(1, attachments=(PDF, PDF)))
    files = rows(
        database,
        "SELECT a.position, a.display_name, a.size, p.registration_number FROM petition_attachments a"
        " JOIN petitions p ON p.id = a.petition_id ORDER BY a.position",
    )
    assert files == [(1, "scan.pdf", len(PDF.content), first), (2, "scan.pdf", len(PDF.content), first)]
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE petitions SET status = 'answered', answered_at = now()"))
    repeat = submit(database, deps, form(1, subject="SEMAFOR DEFECT 1"))
    assert repeat == "IGPR-2026-000002"
    [(status, closure, repeat_of)] = rows(
        database,
        "SELECT p.status, p.closure, o.registration_number FROM petitions p JOIN petitions o ON o.id = p.repeat_of_id",
    )
    assert (status, closure, repeat_of) == ("closed", "repeat", first)
    events = [
        (row.event_type, json.loads(row.payload))
        for row in rows(database, "SELECT event_type, payload FROM outbox_events ORDER BY seq")
    ]
    assert [kind for kind, _ in events] == [
        "ro.mai.petition.submitted.v1",
        "ro.mai.petition.submitted.v1",
        "ro.mai.petition.closed.v1",
    ]
    assert events[0][1]["data"]["attachment_count"] == 2
    assert events[1][1]["data"]["registration_number"] == repeat
    assert events[1][1]["data"]["repeat_of_registration_number"] == first
    assert events[2][1]["data"]["registration_number"] == repeat
    assert all("IGPR-2026-000" in json.dumps(body) for _, body in events)


def test_numbers_past_six_digits_are_written_as_python_writes_them(database: Database, deps: PetitionDeps) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO registration_counters VALUES ('IGPR', 2026, 999998)"))
    assert [submit(database, deps, form(n)) for n in range(2)] == ["IGPR-2026-999999", "IGPR-2026-1000000"]


def test_registrations_after_other_writes_are_committed_with_their_statement(
    database: Database, deps: PetitionDeps
) -> None:
    # With attachments the quotas are counted first: the statement is the transaction's last, sent
    # with its COMMIT; many times over, past the point where the driver prepares it on the server.
    clients = [Sender(client_address=f"198.51.100.{n}") for n in range(12)]  # each within its quotas
    numbers = [submit(database, deps, form(n, attachments=(PDF,), sender=clients[n])) for n in range(12)]
    assert numbers == [f"IGPR-2026-{n:06d}" for n in range(1, 13)]
    assert rows(database, "SELECT count(*), sum(petitions) FROM submission_quotas") == [(24, 24)]
    assert rows(database, "SELECT count(*) FROM petition_attachments") == [(12,)]
