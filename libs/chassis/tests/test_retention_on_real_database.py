"""The retention job's shared part on a real PostgreSQL server: terms, batches, several pods, metric."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from mai_chassis.retention import RETENTION_ROWS_REMOVED, RetentionRule, chassis_rules, purge
from mai_chassis.tables import IdempotencyRecord, OutboxEvent
from sqlalchemy import insert, select

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    url = database_factory("retention")
    upgrade(url, None)
    db = Database(url, pool_size=6, max_overflow=4)
    yield db
    db.dispose()


def _event(key: str, published_at: datetime | None) -> dict[str, object]:
    return {
        "event_id": key, "event_type": "t", "topic": "t", "key": key, "payload": "{}", "published_at": published_at,
    }  # fmt: skip


def _outbox_keys(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(OutboxEvent.key)))


def _removed(data_class: str) -> float:
    return RETENTION_ROWS_REMOVED.labels("test-svc", data_class, "delete")._value.get()


def test_published_events_go_a_day_after_their_week_and_not_a_day_before(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            insert(OutboxEvent),
            [
                _event("eight-days", NOW - 8 * DAY),
                _event("six-days", NOW - 6 * DAY),
                _event("pending-for-a-month", None),
            ],
        )
    before = _removed("outbox")

    removed = purge(database, service="test-svc", rules=chassis_rules(), now=NOW)

    assert removed["outbox"] == 1
    assert _outbox_keys(database) == ["pending-for-a-month", "six-days"]
    assert _removed("outbox") - before == 1


def test_idempotency_records_go_after_their_day(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            insert(IdempotencyRecord),
            [
                {"scope": "s", "key": "old", "request_hash": "0" * 64, "created_at": NOW - 25 * timedelta(hours=1)},
                {"scope": "s", "key": "fresh", "request_hash": "0" * 64, "created_at": NOW - 23 * timedelta(hours=1)},
            ],
        )

    assert purge(database, service="test-svc", rules=chassis_rules(), now=NOW)["idempotency-records"] == 1

    with database.session() as session:
        assert list(session.scalars(select(IdempotencyRecord.key))) == ["fresh"]


def test_a_second_run_removes_nothing(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(insert(OutboxEvent), [_event(f"old-{n}", NOW - 30 * DAY) for n in range(7)])

    first = purge(database, service="test-svc", rules=chassis_rules(), now=NOW, batch_size=3)
    second = purge(database, service="test-svc", rules=chassis_rules(), now=NOW, batch_size=3)

    assert first["outbox"] == 7
    assert second == {"outbox": 0, "idempotency-records": 0}


def test_three_pods_at_once_remove_each_row_once(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(insert(OutboxEvent), [_event(f"old-{n}", NOW - 30 * DAY) for n in range(1500)])
        connection.execute(insert(OutboxEvent), [_event(f"new-{n}", NOW - DAY) for n in range(5)])

    def one_pod(_: int) -> int:
        return purge(database, service="test-svc", rules=chassis_rules(), now=NOW, batch_size=40)["outbox"]

    with ThreadPoolExecutor(max_workers=3) as pods:
        counts = list(pods.map(one_pod, range(3)))

    assert sum(counts) == 1500
    assert _outbox_keys(database) == sorted(f"new-{n}" for n in range(5))


def test_a_rule_that_leaves_its_rows_matching_is_stopped_instead_of_looping(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(insert(OutboxEvent), [_event(f"old-{n}", NOW - 30 * DAY) for n in range(4)])
    published_before = chassis_rules()[0].candidates
    forgetful = RetentionRule("outbox", published_before, lambda _session, _keys: None)

    with pytest.raises(RuntimeError, match="already acted on"):
        purge(database, service="test-svc", rules=[forgetful], now=NOW, batch_size=2)
