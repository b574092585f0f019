"""`identity-svc purge` on a real PostgreSQL server: accounts never confirmed go after 30 days."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from identity.retention import rules
from identity.tables import Account, RefreshToken
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.retention import purge
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing.retention import enforced_classes, purged_by_two_pods
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "identity" / "migrations"
CLOCK = FixedClock(datetime(2026, 3, 15, 2, 0, tzinfo=UTC))
DAY = timedelta(days=1)
THIRTY_DAYS_AGO = CLOCK.now() - 30 * DAY


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("identity_retention", MIGRATIONS)


def _account(
    database: Database,
    name: str,
    created_at: datetime,
    *,
    kind: str = "citizen",
    confirmed: bool = False,
    verified: bool = False,
) -> uuid.UUID:
    account_id = uuid.uuid4()
    with database.engine.begin() as connection:
        connection.execute(
            insert(Account),
            [{
                "id": account_id, "kind": kind, "email": f"{name}@example.ro", "display_name": name,
                "language": "ro", "password_hash": None, "assurance_level": "none",
                "email_confirmed_at": created_at + DAY if confirmed else None,
                "verified_at": created_at + DAY if verified else None, "created_at": created_at,
            }],
        )  # fmt: skip
    return account_id


def _left(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(Account.display_name)))


def test_an_unconfirmed_account_goes_a_day_after_its_30_days_and_not_a_day_before(database: Database) -> None:
    _account(database, "late", THIRTY_DAYS_AGO - DAY)
    _account(database, "early", THIRTY_DAYS_AGO + DAY)
    _account(database, "confirmed", THIRTY_DAYS_AGO - 400 * DAY, confirmed=True)
    _account(database, "verified", THIRTY_DAYS_AGO - 400 * DAY, verified=True)
    _account(database, "staff", THIRTY_DAYS_AGO - 400 * DAY, kind="staff")

    removed = purge(database, service="identity-svc", rules=rules(), now=CLOCK.now())

    assert removed["unconfirmed-accounts"] == 1
    assert _left(database) == ["confirmed", "early", "staff", "verified"]


def test_a_second_run_removes_nothing_and_two_pods_remove_each_account_once(database: Database) -> None:
    for n in range(45):
        _account(database, f"old-{n:02}", THIRTY_DAYS_AGO - DAY)

    def one_pod() -> int:
        return purge(database, service="identity-svc", rules=rules(), now=CLOCK.now(), batch_size=4)[
            "unconfirmed-accounts"
        ]

    counts = purged_by_two_pods(one_pod)

    assert sum(counts) == 45
    assert one_pod() == 0
    assert _left(database) == []


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    assert {rule.data_class for rule in rules()} == enforced_classes("identity-svc")


def _signed_in(database: Database, account_id: uuid.UUID, at: datetime) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            insert(RefreshToken),
            [{
                "id": uuid.uuid4(), "digest": uuid.uuid4().hex * 2, "family_id": uuid.uuid4(),
                "account_id": account_id, "issued_at": at, "expires_at": at + DAY, "session_expires_at": at + DAY,
            }],
        )  # fmt: skip


def test_an_account_unused_for_three_years_is_deleted_and_every_service_is_told(database: Database) -> None:
    three_years_ago = CLOCK.now().replace(year=CLOCK.now().year - 3)
    idle = _account(database, "idle", three_years_ago - 400 * DAY, confirmed=True, verified=True)
    _signed_in(database, idle, three_years_ago - DAY)
    active = _account(database, "active", three_years_ago - 400 * DAY, confirmed=True)
    _signed_in(database, active, three_years_ago + DAY)
    _account(database, "young", three_years_ago + DAY, confirmed=True)
    _account(database, "staff", three_years_ago - 400 * DAY, kind="staff")

    removed = purge(database, service="identity-svc", rules=rules(), now=CLOCK.now())

    assert removed["inactive-accounts"] == 1
    assert _left(database) == ["active", "staff", "young"]
    with database.session() as session:
        [row] = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "ro.mai.account.deleted.v1"))
        event = json.loads(row.payload)
    assert event["data"]["account_id"] == str(idle) and event["data"]["reason"] == "inactivity"
    assert event["data"]["recipient"]["email"] == "idle@example.ro"
    assert purge(database, service="identity-svc", rules=rules(), now=CLOCK.now())["inactive-accounts"] == 0
