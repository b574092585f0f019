"""Purging expired Idempotency-Key records from several pods at once, on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from mai_chassis import Database
from mai_chassis.idempotency import purge_expired_records
from mai_chassis.migrations import upgrade
from mai_chassis.tables import IdempotencyRecord
from sqlalchemy import func, select, text

pytestmark = pytest.mark.integration


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    url = database_factory("idempotency")
    upgrade(url, None)
    db = Database(url, pool_size=4, max_overflow=4)
    yield db
    db.dispose()


def test_three_pods_purging_at_once_delete_every_expired_record_once_and_keep_the_fresh(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) "
                "SELECT 'ip:10.0.0.1|POST /x', 'old-' || n, repeat('0', 64), now() - interval '25 hours' "
                "FROM generate_series(1, 2000) AS n"
            )
        )
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) "
                "SELECT 'ip:10.0.0.1|POST /x', 'fresh-' || n, repeat('0', 64), now() - interval '23 hours' "
                "FROM generate_series(1, 5) AS n"
            )
        )
    with ThreadPoolExecutor(max_workers=3) as pods:
        deleted = list(pods.map(lambda _pod: purge_expired_records(database, batch_size=50), range(3)))
    assert sum(deleted) == 2000
    with database.session() as session:
        left = session.scalars(select(IdempotencyRecord.key).order_by(IdempotencyRecord.key)).all()
        assert left == [f"fresh-{n}" for n in range(1, 6)]
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 5
