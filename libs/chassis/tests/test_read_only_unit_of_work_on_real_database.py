"""A read-only unit of work runs its statements outside a transaction and refuses to write, on a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mai_chassis import Database
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
