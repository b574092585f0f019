"""A read-only unit of work (``unit_of_work(read_only=True)``, ``Database.reading()``) runs its statements
outside a transaction, refuses to write, and leaves its pooled connection as it found it, on a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mai_chassis import Database
from psycopg.pq import TransactionStatus
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("readonly"), pool_size=1, max_overflow=0)
    yield db
    db.dispose()


def test_a_read_only_unit_of_work_reads_without_opening_a_transaction(database: Database) -> None:
    with database.unit_of_work(read_only=True) as uow:
        # now() is when the transaction began: outside one, each statement is a transaction of its own.
        first = uow.session.execute(text("SELECT now()")).scalar_one()
        second = uow.session.execute(text("SELECT now()")).scalar_one()
        assert second > first
    with database.unit_of_work() as uow:
        started = uow.session.execute(text("SELECT now()")).scalar_one()
        assert uow.session.execute(text("SELECT now()")).scalar_one() == started  # one transaction


def test_a_read_only_unit_of_work_refuses_to_commit_or_publish(database: Database) -> None:
    with database.unit_of_work(read_only=True) as uow:
        with pytest.raises(RuntimeError, match="nothing to commit"):
            uow.commit()
        with pytest.raises(RuntimeError, match="cannot publish"):
            uow.publish("ro.mai.petition.submitted.v1", subject="x", data={})


def test_the_pooled_connection_goes_back_to_transactions_after_a_read_only_use(database: Database) -> None:
    with database.unit_of_work(read_only=True) as uow:
        uow.session.execute(text("SELECT 1"))
    with database.unit_of_work() as uow:
        uow.session.execute(text("CREATE TABLE kept (n int)"))
        # Not committed: a connection left in autocommit would have kept the table.
    with database.unit_of_work(read_only=True) as uow:
        assert uow.session.execute(text("SELECT to_regclass('kept') IS NULL")).scalar_one() is True


@pytest.fixture
def notes_database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("reading"), pool_size=2, max_overflow=0)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body text)"))
    yield db
    db.dispose()


def test_a_read_runs_outside_a_transaction(notes_database: Database) -> None:
    with notes_database.reading() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0
        dbapi = uow.session.connection().connection.dbapi_connection
        assert dbapi is not None
        assert dbapi.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        # Each statement is its own snapshot: a row committed meanwhile is seen by the next one.
        with notes_database.engine.begin() as other:
            other.execute(text("INSERT INTO notes VALUES ('seen')"))
        assert uow.session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 1


def test_the_connection_goes_back_to_the_pool_transactional(notes_database: Database) -> None:
    single = Database(notes_database.url, pool_size=1, max_overflow=0)
    try:
        _read_then_write_on_one_connection(single)
    finally:
        single.dispose()
    with notes_database.engine.connect() as connection:
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


def test_a_reading_unit_of_work_cannot_publish(notes_database: Database) -> None:
    with notes_database.reading() as uow, pytest.raises(RuntimeError, match="cannot publish"):
        uow.publish("mai.test.v1", subject="x", data={})
