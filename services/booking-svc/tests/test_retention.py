"""`booking-svc purge` on a real PostgreSQL server: scans go a year after their application closed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from booking.documents import FilesystemDocumentStore
from booking.retention import document_rules
from booking.tables import Application, ApplicationDocument
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.retention import purge
from mai_chassis.testing.retention import enforced_classes, purged_by_two_pods
from mai_chassis.uploads import content_digest
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "booking" / "migrations"
CLOCK = FixedClock(datetime(2026, 3, 15, 3, 15, tzinfo=UTC))
DAY = timedelta(days=1)
A_YEAR_AGO = datetime(2025, 3, 15, 3, 15, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("booking_retention", MIGRATIONS)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemDocumentStore:
    return FilesystemDocumentStore(tmp_path / "documents")


def _stored(store: FilesystemDocumentStore, content: bytes) -> str:
    digest = content_digest(content)
    store.put(digest, content, "application/pdf")
    return digest


def _application(
    database: Database, name: str, picked_up_at: datetime | None, digests: list[str], *, status: str = "closed"
) -> None:
    application_id = str(uuid.uuid4())
    created = (picked_up_at or CLOCK.now()) - 60 * DAY
    with database.engine.begin() as connection:
        connection.execute(
            insert(Application),
            [{
                "id": application_id, "citizen_id": str(uuid.uuid4()), "application_type": "residence-permit",
                "office": "B", "status": status, "submission_number": 1, "recipient_email": "a@example.ro",
                "recipient_name": name, "recipient_language": "ro", "created_at": created, "picked_up_at": picked_up_at,
            }],
        )  # fmt: skip
        for n, digest in enumerate(digests):
            connection.execute(
                insert(ApplicationDocument),
                [{
                    "id": str(uuid.uuid4()), "application_id": application_id, "document_type": f"doc-{n}",
                    "sha256": digest, "media_type": "application/pdf", "size_bytes": 3, "file_name": "scan.pdf",
                    "status": "accepted", "uploaded_at": created,
                }],
            )  # fmt: skip


def _documents_of(database: Database, name: str) -> int:
    with database.session() as session:
        query = (
            select(ApplicationDocument.id)
            .join(Application, Application.id == ApplicationDocument.application_id)
            .where(Application.recipient_name == name)
        )
        return len(session.scalars(query).all())


def test_scans_go_a_day_after_the_year_past_closing_and_not_a_day_before(
    database: Database, store: FilesystemDocumentStore
) -> None:
    only_late = _stored(store, b"late passport")
    shared = _stored(store, b"the same lease, twice")
    _application(database, "late", A_YEAR_AGO - DAY, [only_late, shared])
    _application(database, "early", A_YEAR_AGO + DAY, [shared])
    _application(database, "open", None, [_stored(store, b"open")], status="submitted")

    removed = purge(database, service="booking-svc", rules=document_rules(store), now=CLOCK.now())

    assert removed["immigration-documents"] == 2
    assert (_documents_of(database, "late"), _documents_of(database, "early"), _documents_of(database, "open")) == (
        0,
        1,
        1,
    )
    assert not store.path_of(only_late).exists()
    assert store.get(shared) == b"the same lease, twice"
    with database.session() as session:
        assert len(session.scalars(select(Application.id)).all()) == 3  # the applications themselves stay


def test_two_pods_remove_each_scan_once_and_a_second_run_nothing(
    database: Database, store: FilesystemDocumentStore
) -> None:
    for n in range(12):
        _application(
            database, f"old-{n}", A_YEAR_AGO - DAY, [_stored(store, f"a{n}".encode()), _stored(store, f"b{n}".encode())]
        )

    def one_pod() -> int:
        return purge(database, service="booking-svc", rules=document_rules(store), now=CLOCK.now(), batch_size=5)[
            "immigration-documents"
        ]

    counts = purged_by_two_pods(one_pod)

    assert sum(counts) == 24
    assert one_pod() == 0


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    assert {rule.data_class for rule in document_rules(FilesystemDocumentStore(tmp_path))} == enforced_classes(
        "booking-svc"
    )
