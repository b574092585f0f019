"""`record-svc purge` on a real PostgreSQL server: a certificate (row and PDF) goes a year after its validity."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.retention import purge
from mai_chassis.testing.retention import enforced_classes, purged_by_two_pods
from record.retention import certificate_rules
from record.storage import FilesystemCertificateStore
from record.tables import CertificateApplication
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "record" / "migrations"
CLOCK = FixedClock(datetime(2026, 3, 15, 3, 45, tzinfo=UTC))
DAY = timedelta(days=1)
A_YEAR_AGO = datetime(2025, 3, 15, 3, 45, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("record_retention", MIGRATIONS)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemCertificateStore:
    return FilesystemCertificateStore(tmp_path / "certificates")


def _certificate(
    database: Database, store: FilesystemCertificateStore, name: str, valid_until: datetime | None
) -> uuid.UUID:
    certificate_id = uuid.uuid4()
    with database.engine.begin() as connection:
        connection.execute(
            insert(CertificateApplication),
            [{
                "id": certificate_id, "citizen_id": uuid.uuid4(), "purpose": "employment",
                "application_day": (valid_until or CLOCK.now()).date(), "channel": "online", "status": "issued",
                "requested_at": (valid_until or CLOCK.now()) - 180 * DAY, "holder_cnp_digest": "0" * 64,
                "holder_name": name, "recipient_email": "a@example.ro", "language": "ro", "valid_until": valid_until,
            }],
        )  # fmt: skip
    store.put(certificate_id, b"%PDF-1.7 " + name.encode())
    return certificate_id


def _left(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(CertificateApplication.holder_name)))


def test_a_certificate_and_its_pdf_go_a_day_after_the_year_past_its_validity(
    database: Database, store: FilesystemCertificateStore
) -> None:
    late = _certificate(database, store, "late", A_YEAR_AGO - DAY)
    early = _certificate(database, store, "early", A_YEAR_AGO + DAY)
    _certificate(database, store, "never-issued", None)

    removed = purge(database, service="record-svc", rules=certificate_rules(store), now=CLOCK.now())

    assert removed["expired-certificates"] == 1
    assert _left(database) == ["early", "never-issued"]
    assert store.get(late) is None
    assert store.get(early) == b"%PDF-1.7 early"


def test_two_pods_remove_each_certificate_once_and_a_second_run_nothing(
    database: Database, store: FilesystemCertificateStore
) -> None:
    for n in range(30):
        _certificate(database, store, f"old-{n:02}", A_YEAR_AGO - DAY)

    def one_pod() -> int:
        return purge(database, service="record-svc", rules=certificate_rules(store), now=CLOCK.now(), batch_size=4)[
            "expired-certificates"
        ]

    counts = purged_by_two_pods(one_pod)

    assert sum(counts) == 30
    assert one_pod() == 0
    assert _left(database) == []


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    assert {rule.data_class for rule in certificate_rules(FilesystemCertificateStore(tmp_path))} == enforced_classes(
        "record-svc"
    )
