"""A reading unit of work sends no BEGIN or ROLLBACK, and leaves its pooled connection as it found it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mai_chassis import Database
from psycopg.pq import TransactionStatus
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("reading"), pool_size=2, max_overflow=0)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body text)"))
    yield db
    db.dispose()


def test_a_read_runs_outside_a_transaction(database: Database) -> None:
    with database.reading() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0
        dbapi = uow.session.connection().connection.dbapi_connection
        assert dbapi is not None
        assert dbapi.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        # Each statement is its own snapshot: a row committed meanwhile is seen by the next one.
        with database.engine.begin() as other:
            other.execute(text("INSERT INTO notes VALUES ('seen')"))
        assert uow.session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 1


def test_the_connection_goes_back_to_the_pool_transactional(database: Database) -> None:
    single = Database(database.url, pool_size=1, max_overflow=0)
    try:
        _read_then_write_on_one_connection(single)
    finally:
        single.dispose()
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0


def _read_then_write_on_one_connection(database: Database) -> None:
    with database.reading() as uow:
        uow.session.execute(text("SELECT 1"))
    # pool_size=1: the same connection; an uncommitted write must still be rolled back.
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('dropped')"))
        dbapi = uow.session.connection().connection.dbapi_connection
        assert dbapi is not None
        assert dbapi.info.transaction_status == TransactionStatus.INTRANS


def test_a_reading_unit_of_work_cannot_publish(database: Database) -> None:
    with database.reading() as uow, pytest.raises(RuntimeError, match="cannot publish"):
        uow.publish("mai.test.v1", subject="x", data={})
