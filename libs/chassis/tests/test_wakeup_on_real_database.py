"""Waking idle loops through PostgreSQL LISTEN/NOTIFY, on a real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from mai_chassis import Database
from mai_chassis.testing import wait_until
from mai_chassis.wakeup import Wakeup, notify_on_insert_sql
from sqlalchemy import text

pytestmark = pytest.mark.integration

CHANNEL = "work_arrived"


@pytest.fixture
def database(database_factory: Callable[..., str]) -> Iterator[Database]:
    db = Database(database_factory("wakeup"))
    create, _drop = notify_on_insert_sql("work", CHANNEL)
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE work (id SERIAL PRIMARY KEY)"))
        for statement in create:
            connection.execute(text(statement))
    yield db
    db.dispose()


def _insert(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO work DEFAULT VALUES"))


def test_an_insert_wakes_one_of_several_waiting_loops_and_the_others_sleep_on(database: Database) -> None:
    wakeup = Wakeup(database, CHANNEL, gather=0.3)
    stop = threading.Event()
    woken: list[float] = []

    def loop() -> None:
        while not stop.is_set():
            if wakeup.wait(30.0, stop):
                woken.append(time.monotonic())

    loops = [threading.Thread(target=loop, daemon=True) for _ in range(4)]
    for thread in loops:
        thread.start()
    try:
        wait_until(lambda: len(woken) >= 1, timeout=10, what="the wake-up on first listening")
        time.sleep(0.5)
        woken.clear()

        inserted_at = time.monotonic()
        for _ in range(5):  # a burst within the gathering time: one loop takes it all
            _insert(database)
        wait_until(lambda: len(woken) >= 1, timeout=5, what="a loop woken by the inserts")
        assert woken[0] - inserted_at < 2.0
        time.sleep(1.0)
        assert len(woken) <= 2, f"{len(woken)} wake-ups for one burst of inserts"

        woken.clear()
        time.sleep(1.5)
        assert woken == [], "loops woke without an insert"
    finally:
        stop.set()
        for thread in loops:
            thread.join(timeout=5)
        wakeup.close()


def test_without_a_notification_a_wait_lasts_its_timeout_and_a_stop_ends_it(database: Database) -> None:
    wakeup = Wakeup(database, CHANNEL)
    stop = threading.Event()
    try:
        wakeup.wait(5.0, stop)  # the first wait may return at once: it starts listening
        started = time.monotonic()
        assert wakeup.wait(0.8, stop) is False
        assert 0.7 <= time.monotonic() - started < 3.0

        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        assert wakeup.wait(30.0, stop) is False
        assert time.monotonic() - started < 2.0
    finally:
        wakeup.close()


def test_on_sqlite_a_wait_is_a_short_sleep(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/w.db")
    try:
        started = time.monotonic()
        assert Wakeup(database, CHANNEL, fallback_interval=0.05).wait(30.0, threading.Event()) is False
        assert time.monotonic() - started < 1.0
    finally:
        database.dispose()
