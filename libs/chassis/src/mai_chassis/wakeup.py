"""Idle loops that wake when there is work: PostgreSQL LISTEN/NOTIFY instead of tight polling.

A loop that found nothing to do (the outbox relay, notify-svc's delivery loops) waits on a
channel that a trigger notifies when a row is inserted, or until a timeout as a fallback. Under
load the loops keep their own short pauses between batches (which is what batches the work); only
the idle wait changes, from many polls a second per process to none.

One ``Wakeup`` may serve several loops of a process: it holds one listening connection (on a
thread of its own) and hands each notification to one waiting loop, not to all of them. A loop
woken with ``gather`` set keeps the others asleep for that long while rows accumulate, so that
one claim takes them together instead of every loop claiming one row each.

NOTIFY is transactional: the notification reaches listeners when the inserting transaction
commits, never before. Notifications that arrive while no loop waits are remembered, so the next
wait returns at once and the loop polls one more time.

On SQLite (unit tests), until the listening connection is up and whenever it is lost, ``wait``
falls back to a short timed wait, so a lost connection slows a loop down but never stops it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .db import Database

__all__ = ["Wakeup", "add_notify_on_insert", "drop_notify_on_insert", "notify_on_insert_sql"]

logger = logging.getLogger(__name__)

_RETRY_CONNECT_AFTER = 5.0


def notify_on_insert_sql(table: str, channel: str) -> tuple[list[str], list[str]]:
    """The DDL statements (to create, to drop) of a trigger that NOTIFYs ``channel`` after inserts.

    A statement-level trigger: one notification per inserting statement, and PostgreSQL folds
    identical notifications of one transaction into one.
    """
    function = f"{table}_notify_{channel}"
    create = [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END;
        $$""",
        f"CREATE TRIGGER {function} AFTER INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]
    drop = [f"DROP TRIGGER IF EXISTS {function} ON {table}", f"DROP FUNCTION IF EXISTS {function}()"]
    return create, drop


def add_notify_on_insert(op: Any, table: str, channel: str) -> None:
    """In a migration's ``upgrade()`` (``op`` is Alembic's): the trigger on PostgreSQL, nothing elsewhere."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in notify_on_insert_sql(table, channel)[0]:
            op.execute(statement)


def drop_notify_on_insert(op: Any, table: str, channel: str) -> None:
    """In a migration's ``downgrade()``: undoes :func:`add_notify_on_insert`."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in notify_on_insert_sql(table, channel)[1]:
            op.execute(statement)


class Wakeup:
    """Waits until ``channel`` is notified, ``timeout`` passes or ``stop`` is set."""

    def __init__(
        self, database: Database, channel: str, *, fallback_interval: float = 0.05, gather: float = 0.0
    ) -> None:
        self.database = database
        self.channel = channel
        #: How long a loop sleeps between polls when it cannot listen (SQLite, connection lost).
        self.fallback_interval = fallback_interval
        #: After a wake, how long further notifications wake no other loop (rows accumulate).
        self.gather = gather
        self._condition = threading.Condition()
        self._signalled = False
        self._quiet_until = 0.0
        self._listening = False
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None

    def _start_listener(self) -> None:
        with self._condition:
            if self._listener is None or not self._listener.is_alive():
                self._closed.clear()
                self._listener = threading.Thread(
                    target=self._listen_forever, name=f"listen-{self.channel}", daemon=True
                )
                self._listener.start()

    def _listen_forever(self) -> None:
        import psycopg

        url = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._closed.is_set():
            try:
                connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
            except psycopg.Error as exc:
                logger.warning("cannot listen on %s, polling instead: %s", self.channel, exc.__class__.__name__)
                self._closed.wait(_RETRY_CONNECT_AFTER)
                continue
            try:
                connection.execute(f"LISTEN {self.channel}")
                self._listening = True
                self._signal()  # rows may have come while nobody listened
                while not self._closed.is_set():
                    for _ in connection.notifies(timeout=1.0):
                        self._signal()
            except psycopg.Error as exc:
                logger.warning("listening on %s failed, polling instead: %s", self.channel, exc.__class__.__name__)
                self._closed.wait(1.0)
            finally:
                self._listening = False
                connection.close()

    def _signal(self) -> None:
        with self._condition:
            self._signalled = True
            if time.monotonic() >= self._quiet_until:
                self._condition.notify()  # one loop; a notification remembered wakes the next wait

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """True when woken by a notification (or one that arrived meanwhile), False otherwise."""
        if stop.is_set():
            return False
        if not self.database.is_postgresql:
            stop.wait(min(timeout, self.fallback_interval))
            return False
        self._start_listener()
        deadline = time.monotonic() + timeout
        with self._condition:
            while not self._signalled:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop.is_set():
                    return False
                if not self._listening:
                    # Not (yet) listening: poll instead, briefly.
                    self._condition.wait(min(remaining, self.fallback_interval))
                    if not self._listening:
                        return False
                    continue
                # Short slices, so that a stop request is noticed within half a second.
                self._condition.wait(min(remaining, 0.5))
            self._signalled = False
            self._quiet_until = time.monotonic() + self.gather
        if self.gather:
            stop.wait(self.gather)
        return True

    def close(self) -> None:
        self._closed.set()
        listener = self._listener
        if listener is not None and listener is not threading.current_thread():
            listener.join(timeout=5)
