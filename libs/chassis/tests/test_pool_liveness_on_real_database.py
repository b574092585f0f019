"""Pooled connections are pinged only after a pause, and a dead one is replaced, on a real server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mai_chassis import Database
from mai_chassis.db import PING_AFTER_IDLE_SECONDS
from sqlalchemy import text

pytestmark = pytest.mark.integration


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("liveness"), pool_size=1, max_overflow=0)
    yield db
    db.dispose()


@pytest.fixture
def pings(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    dialect = database.engine.dialect
    seen: list[float] = []
    real = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        seen.append(time.monotonic())
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return seen


def _backend_pid(database: Database) -> int:
    with database.unit_of_work() as uow:
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        uow.commit()
    return int(pid)


def test_a_connection_in_steady_use_is_not_pinged_and_one_back_from_a_pause_is(
    database: Database, pings: list[float]
) -> None:
    first = _backend_pid(database)  # a new connection: fresh, no ping
    for _ in range(50):
        assert _backend_pid(database) == first
    assert pings == []

    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    assert _backend_pid(database) == first
    assert len(pings) == 1


def test_a_connection_the_server_dropped_during_a_pause_is_replaced_unseen(
    database: Database, pings: list[float], database_factory: Callable[..., str]
) -> None:
    first = _backend_pid(database)
    killer = Database(database.url, pool_size=1, max_overflow=0)
    try:
        with killer.engine.begin() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
    finally:
        killer.dispose()
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)

    replacement = _backend_pid(database)  # no error reaches the caller
    assert replacement != first
    assert len(pings) == 1
