"""`identity-svc purge` on a real PostgreSQL server: accounts never confirmed go after 30 days."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from identity.retention import rules
from identity.tables import Account
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.retention import purge
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
) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            insert(Account),
            [{
                "id": uuid.uuid4(), "kind": kind, "email": f"{name}@example.ro", "display_name": name,
                "language": "ro", "password_hash": None, "assurance_level": "none",
                "email_confirmed_at": created_at + DAY if confirmed else None,
                "verified_at": created_at + DAY if verified else None, "created_at": created_at,
            }],
        )  # fmt: skip


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

    def one_pod(_: int) -> int:
        return purge(database, service="identity-svc", rules=rules(), now=CLOCK.now(), batch_size=4)[
            "unconfirmed-accounts"
        ]

    with ThreadPoolExecutor(max_workers=2) as pods:
        counts = list(pods.map(one_pod, range(2)))

    assert sum(counts) == 45
    assert one_pod(0) == 0
    assert _left(database) == []


def test_the_job_acts_on_every_class_the_retention_table_says_it_enforces(tmp_path: Path) -> None:
    from mai_contracts.retention import retention_classes

    enforced = {c.name for c in retention_classes() if c.service == "identity-svc" and c.enforced}
    assert {rule.data_class for rule in rules()} == enforced
