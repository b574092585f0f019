"""`notify-svc purge` on a real PostgreSQL server: finished notifications go a year after they were recorded."""

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
from notify.domain import DeliveryStatus
from notify.retention import rules
from notify.tables import DeliveryRow, Notification
from sqlalchemy import insert, select

from .conftest import MIGRATIONS

pytestmark = pytest.mark.integration

CLOCK = FixedClock(datetime(2026, 3, 15, 3, 30, tzinfo=UTC))
DAY = timedelta(days=1)
A_YEAR_AGO = datetime(2025, 3, 15, 3, 30, tzinfo=UTC)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("notify_retention", MIGRATIONS)


def _notification(database: Database, label: str, created_at: datetime, status: DeliveryStatus) -> None:
    notification_id = str(uuid.uuid4())
    with database.engine.begin() as connection:
        connection.execute(
            insert(Notification),
            [{
                "id": notification_id, "trigger_event_id": f"{label}-{notification_id}",
                "trigger_event_type": "ro.mai.test.v1", "trigger_subject": label, "recipient_email": "a@example.ro",
                "recipient_name": "A", "language": "ro", "template": "t", "template_version": 1, "subject": "s",
                "event_data": {}, "created_at": created_at,
            }],
        )  # fmt: skip
        connection.execute(
            insert(DeliveryRow),
            [{"id": str(uuid.uuid4()), "notification_id": notification_id, "number": 1, "status": status.value,
              "message_id": f"<{notification_id}@mai>"}],
        )  # fmt: skip


def _left(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(Notification.trigger_subject)))


def test_a_delivered_notification_goes_a_day_after_its_year_and_not_a_day_before(database: Database) -> None:
    _notification(database, "a-day-late", A_YEAR_AGO - DAY, DeliveryStatus.DELIVERED)
    _notification(database, "a-day-early", A_YEAR_AGO + DAY, DeliveryStatus.DELIVERED)
    _notification(database, "failed-for-good", A_YEAR_AGO - DAY, DeliveryStatus.PERMANENT_FAILURE)
    _notification(database, "still-retrying", A_YEAR_AGO - 30 * DAY, DeliveryStatus.CREATED)

    removed = purge(database, service="notify-svc", rules=rules(), now=CLOCK.now())

    assert removed["delivered-notifications"] == 2
    assert _left(database) == ["a-day-early", "still-retrying"]
    with database.session() as session:
        assert len(session.scalars(select(DeliveryRow.id)).all()) == 2


def test_a_second_run_removes_nothing(database: Database) -> None:
    for n in range(5):
        _notification(database, f"old-{n}", A_YEAR_AGO - DAY, DeliveryStatus.DELIVERED)

    assert (
        purge(database, service="notify-svc", rules=rules(), now=CLOCK.now(), batch_size=2)["delivered-notifications"]
        == 5
    )
    assert (
        purge(database, service="notify-svc", rules=rules(), now=CLOCK.now(), batch_size=2)["delivered-notifications"]
        == 0
    )


def test_two_pods_at_once_remove_each_notification_once(database: Database) -> None:
    for n in range(60):
        _notification(database, f"old-{n:02}", A_YEAR_AGO - DAY, DeliveryStatus.DELIVERED)
    _notification(database, "recent", CLOCK.now() - DAY, DeliveryStatus.DELIVERED)

    def one_pod() -> int:
        return purge(database, service="notify-svc", rules=rules(), now=CLOCK.now(), batch_size=7)[
            "delivered-notifications"
        ]

    counts = purged_by_two_pods(one_pod)

    assert sum(counts) == 60
    assert _left(database) == ["recent"]


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    assert {rule.data_class for rule in rules()} == enforced_classes("notify-svc")
