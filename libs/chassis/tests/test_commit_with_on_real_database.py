"""``SqlUnitOfWork.commit_with``: the transaction's last statement and its COMMIT sent together,
``take_outbox``: published rows handed to the caller to write, and ``fetch_first``, on a real server
(and ``commit_with`` on SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mai_chassis import Database
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

SUBMITTED = "ro.mai.petition.submitted.v1"


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("commitwith"), pool_size=1, max_overflow=0)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)"))
        connection.execute(text("CREATE TABLE notes (body text UNIQUE)"))
    yield db
    db.dispose()


def _notes(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT body FROM notes ORDER BY body")).scalars())


def test_the_last_statement_is_committed_with_what_came_before_and_its_row_returned(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('first')"))
        row = uow.commit_with(
            "INSERT INTO counters VALUES (%(name)s, 1) ON CONFLICT (name) DO UPDATE"
            " SET value = counters.value + 1 RETURNING value",
            {"name": "n"},
        )
        assert row == (1,)
    assert _notes(database) == ["first"]
    with database.unit_of_work() as uow:
        assert uow.commit_with("UPDATE counters SET value = value + 1 RETURNING value", {}) == (2,)
    with database.unit_of_work() as uow:
        assert uow.commit_with("UPDATE counters SET value = value + 1", {}) is None  # no rows to return
    with database.unit_of_work() as uow:  # the pooled connection is left idle, ready for the next one
        assert uow.session.execute(text("SELECT value FROM counters")).scalar_one() == 3


def test_a_failing_last_statement_commits_nothing(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('kept')"))
        uow.commit()
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('lost')"))
        uow.commit_with("INSERT INTO notes VALUES (%(body)s)", {"body": "kept"})
    assert _notes(database) == ["kept"]
    with database.unit_of_work() as uow:  # and the connection is usable again
        uow.commit_with("INSERT INTO notes VALUES (%(body)s)", {"body": "later"})
    assert _notes(database) == ["kept", "later"]


def test_taken_outbox_rows_are_the_callers_to_write(database: Database) -> None:
    from mai_chassis.migrations import upgrade  # the chassis' tables, the outbox among them

    upgrade(database.url, None)
    data = {
        "petition_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "registration_number": "IGPR-2026-000001",
        "institution": "IGPR",
        "field": "road-traffic",
        "kind": "petition",
        "channel": "web",
        "attachment_count": 0,
        "registered_at": "2026-12-07T10:00:00Z",
        "answer_due_on": "2027-01-06",
    }
    with database.unit_of_work(source="test-svc") as uow:
        event_id = uow.publish(SUBMITTED, subject=data["petition_id"], data=data)
        (row,) = uow.take_outbox()
        assert row["event_id"] == event_id and json.loads(row["payload"])["data"] == data
        assert uow.take_outbox() == []
        assert uow.published[0]["id"] == event_id
        uow.commit()  # nothing written for it: the caller took it
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox_events")).scalar_one() == 0


def test_a_unit_of_work_that_began_nothing_runs_the_statement_as_its_own_transaction(database: Database) -> None:
    same_instant = "SELECT now() = statement_timestamp()"  # true only in a transaction of one statement
    with database.unit_of_work() as uow:
        assert uow.commit_with(same_instant, {}) == (True,)
    with database.unit_of_work() as uow:
        uow.session.execute(text("SELECT pg_sleep(0.01)"))  # the transaction began with this read
        assert uow.commit_with(same_instant, {}) == (False,)
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        uow.commit_with("INSERT INTO notes VALUES ('twice'), ('twice')", {})
    assert _notes(database) == []


def test_fetch_first_reads_through_the_driver_in_the_transaction_or_alone(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('unsaid')"))  # in this transaction only
        assert uow.fetch_first("SELECT body FROM notes WHERE body = %(body)s", {"body": "unsaid"}) == ("unsaid",)
    assert _notes(database) == []
    with database.reading() as uow:
        assert uow.fetch_first("SELECT now() = statement_timestamp()", {}) == (True,)  # no transaction around it
        assert uow.fetch_first("SELECT 1 WHERE false", {}) is None


def test_on_sqlite_the_statement_runs_in_the_transaction_and_commits(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'commit_with.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body text UNIQUE)"))
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('first')"))
        assert uow.commit_with("INSERT INTO notes VALUES (:body) RETURNING body", {"body": "second"}) == ("second",)
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('lost')"))
        uow.commit_with("INSERT INTO notes VALUES (:body)", {"body": "first"})
    assert _notes(database) == ["first", "second"]
    with database.unit_of_work() as uow, pytest.raises(NotImplementedError):
        uow.fetch_first("SELECT 1", {})
    database.dispose()


def test_a_unit_of_work_tells_whether_it_began_anything(database: Database) -> None:
    with database.unit_of_work() as uow:
        assert uow.began is False
        uow.session.execute(text("SELECT 1"))
        assert uow.began is True
    with database.reading() as uow:  # a read on the driver opens no session
        uow.fetch_first("SELECT 1", {})
        assert uow.began is False


def test_the_pooled_connection_goes_back_to_transactions_after_a_statement_alone(database: Database) -> None:
    # One pooled connection: what ran alone (autocommit) ran on the one that follows.
    with database.reading() as uow:
        assert uow.fetch_first("SELECT 1", {}) == (1,)
    with database.unit_of_work() as uow:
        assert uow.commit_with("INSERT INTO notes VALUES ('alone') RETURNING body", {}) == ("alone",)
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('not committed')"))
    assert _notes(database) == ["alone"]
    with pytest.raises(IntegrityError), database.reading() as uow:
        uow.fetch_first("INSERT INTO notes VALUES ('alone')", {})
    with database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('still not committed')"))
    assert _notes(database) == ["alone"]


def test_a_statement_alone_on_an_unreachable_server_raises_operational_error_like_a_session() -> None:
    # Nothing listens on port 9 (discard): the connection is refused. A web view turns
    # sqlalchemy's OperationalError into a 503 problem; the driver's own error would be a 500.
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:9/nothing", pool_size=1, max_overflow=0)
    try:
        with pytest.raises(OperationalError), unreachable.unit_of_work() as uow:
            uow.commit_with("SELECT 1", {})
        with pytest.raises(OperationalError), unreachable.reading() as reading:
            reading.fetch_first("SELECT 1", {})
    finally:
        unreachable.dispose()
