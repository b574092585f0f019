"""``mai_chassis.db.upsert``: one INSERT ... ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mai_chassis.db import Database, upsert
from sqlalchemy import Column, Integer, MetaData, String, Table, select

metadata = MetaData()
attempts = Table(
    "attempts",
    metadata,
    Column("scope", String(50), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("note", String(50)),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'upsert.db'}")
    else:
        factory: Callable[..., str] = request.getfixturevalue("database_factory")
        db = Database(factory("upsert"))
    metadata.create_all(db.engine)
    yield db
    db.dispose()


def rows(database: Database) -> list[tuple[str, int, str | None]]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(select(attempts).order_by(attempts.c.scope))]  # type: ignore[misc]


def test_a_new_key_is_inserted(database: Database) -> None:
    with database.session() as session, session.begin():
        upsert(session, attempts, {"scope": "a", "count": 1, "note": "first"}, key=["scope"], update=["count"])
    assert rows(database) == [("a", 1, "first")]


def test_an_existing_key_takes_the_new_values_of_the_update_columns_only(database: Database) -> None:
    with database.session() as session, session.begin():
        upsert(session, attempts, {"scope": "a", "count": 1, "note": "first"}, key=["scope"])
        upsert(session, attempts, {"scope": "a", "count": 5, "note": "second"}, key=["scope"], update=["count"])
    assert rows(database) == [("a", 5, "first")]


def test_without_update_columns_an_existing_row_is_left_alone(database: Database) -> None:
    with database.session() as session, session.begin():
        upsert(session, attempts, {"scope": "a", "count": 1}, key=["scope"])
        upsert(session, attempts, {"scope": "a", "count": 9}, key=["scope"])
        upsert(session, attempts, {"scope": "b", "count": 2}, key=["scope"])
    assert rows(database) == [("a", 1, None), ("b", 2, None)]


def test_an_upsert_is_part_of_the_transaction_and_rolls_back_with_it(database: Database) -> None:
    with database.session() as session:
        upsert(session, attempts, {"scope": "a", "count": 1}, key=["scope"])
        session.rollback()
    assert rows(database) == []


def test_a_column_the_table_lacks_is_refused_by_name(database: Database) -> None:
    with database.session() as session, pytest.raises(ValueError, match="attempts has no column tries"):
        upsert(session, attempts, {"scope": "a", "tries": 1}, key=["scope"])
