"""`petition-svc purge` on a real PostgreSQL server: a closed petition and its attachments go after the archive term."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.retention import purge
from mai_chassis.testing.retention import enforced_classes, purged_by_two_pods
from petition.attachments import AttachmentStore
from petition.retention import petition_rules
from petition.tables import Attachment, Petition
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "petition" / "migrations"
CLOCK = FixedClock(datetime(2026, 3, 15, 2, 15, tzinfo=UTC))
DAY = timedelta(days=1)
TEN_YEARS_AGO = datetime(2016, 3, 15, 2, 15, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("petition_retention", MIGRATIONS)


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "attachments")


def _petition(
    database: Database,
    name: str,
    closed_at: datetime | None,
    *,
    status: str = "answered",
    repeat_of: str | None = None,
    attachment: str | None = None,
) -> str:
    petition_id = str(uuid.uuid4())
    registered = (closed_at or CLOCK.now()) - 20 * DAY
    with database.engine.begin() as connection:
        connection.execute(
            insert(Petition),
            [{
                "id": petition_id, "registration_number": f"MAI-{petition_id[:8]}", "kind": "petition",
                "channel": "online", "institution": "mai", "field": "other", "subject": "s", "text": "t",
                "language": "ro", "petitioner_name": name, "petitioner_email": "p@example.ro",
                "content_fingerprint": "0" * 64, "status": status, "registered_at": registered,
                "answer_due_on": date(2000, 1, 1), "forward_due_on": date(2000, 1, 1), "closed_at": closed_at,
                "repeat_of_id": repeat_of,
            }],
        )  # fmt: skip
        if attachment:
            connection.execute(
                insert(Attachment),
                [{"petition_id": petition_id, "position": 1, "sha256": attachment, "media_type": "application/pdf",
                  "size": 3, "display_name": "scan.pdf"}],
            )  # fmt: skip
    return petition_id


def _left(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(Petition.petitioner_name)))


def test_a_closed_petition_goes_a_day_after_its_archive_term_and_not_a_day_before(
    database: Database, store: AttachmentStore
) -> None:
    only_mine = store.put(b"only in the late petition").sha256
    shared = store.put(b"sent with both").sha256
    late = _petition(database, "late", TEN_YEARS_AGO - DAY, attachment=only_mine)
    _petition(database, "late-withdrawn", TEN_YEARS_AGO - DAY, status="closed", attachment=shared)
    _petition(database, "early", TEN_YEARS_AGO + DAY, attachment=shared)
    _petition(database, "still-open", None, status="in_progress")
    _petition(database, "repeat", TEN_YEARS_AGO + 30 * DAY, repeat_of=late)

    removed = purge(database, service="petition-svc", rules=petition_rules(store), now=CLOCK.now())

    assert removed["closed-petitions"] == 2
    assert _left(database) == ["early", "repeat", "still-open"]
    assert not store.path_for(only_mine).exists()
    assert store.read(shared) == b"sent with both"
    with database.session() as session:
        repeat = session.scalars(select(Petition).where(Petition.petitioner_name == "repeat")).one()
        assert repeat.repeat_of_id is None
        assert session.scalars(select(Attachment.sha256)).all() == [shared]


def test_a_term_set_by_the_institution_replaces_the_default(database: Database, store: AttachmentStore) -> None:
    _petition(database, "six-years", CLOCK.now() - 6 * 366 * DAY)
    _petition(database, "four-years", CLOCK.now() - 4 * 365 * DAY)

    removed = purge(
        database,
        service="petition-svc",
        rules=petition_rules(store),
        now=CLOCK.now(),
        environ={"PETITION_RETENTION": "P5Y"},
    )

    assert removed["closed-petitions"] == 1
    assert _left(database) == ["four-years"]


def test_two_pods_remove_each_petition_once_and_a_second_run_nothing(
    database: Database, store: AttachmentStore
) -> None:
    for n in range(30):
        _petition(database, f"old-{n:02}", TEN_YEARS_AGO - DAY)

    def one_pod() -> int:
        return purge(database, service="petition-svc", rules=petition_rules(store), now=CLOCK.now(), batch_size=4)[
            "closed-petitions"
        ]

    counts = purged_by_two_pods(one_pod)

    assert sum(counts) == 30
    assert one_pod() == 0
    assert _left(database) == []


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    assert {rule.data_class for rule in petition_rules(AttachmentStore(tmp_path))} == enforced_classes("petition-svc")
