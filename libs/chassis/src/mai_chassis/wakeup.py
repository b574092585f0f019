"""Idle loops that wake when there is work: PostgreSQL LISTEN/NOTIFY instead of tight polling.

A loop that found nothing to do (the outbox relay, notify-svc's delivery loops) waits on a
channel that a trigger notifies when a row is inserted, or until a timeout as a fallback. Under
load the loops keep their own short pauses between batches (which is what batches the work); only
the idle wait changes, from many polls a second per process to none.

NOTIFY is transactional: the notification reaches listeners when the inserting transaction
commits, never before. Notifications that arrive while the loop is busy pile up on the listening
connection; the next wait drains them and returns at once, so the loop polls one more time.

On SQLite (unit tests) and whenever the listening connection cannot be opened, ``wait`` falls back
to a plain timed wait, so a lost connection slows a loop down but never stops it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .db import Database

__all__ = ["Wakeup", "notify_on_insert_sql"]

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


class Wakeup:
    """Waits until ``channel`` is notified, ``timeout`` passes or ``stop`` is set."""

    def __init__(self, database: Database, channel: str, *, fallback_interval: float = 0.05) -> None:
        self.database = database
        self.channel = channel
        #: How long a loop sleeps between polls when it cannot listen (SQLite, connection lost).
        self.fallback_interval = fallback_interval
        self._connection: Any = None
        self._failed_at = 0.0

    def _listen(self) -> Any:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if time.monotonic() - self._failed_at < _RETRY_CONNECT_AFTER:
            return None
        import psycopg

        url = self.database.engine.url.set(drivername="postgresql")
        try:
            connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
            connection.execute(f"LISTEN {self.channel}")
        except psycopg.Error as exc:
            self._failed_at = time.monotonic()
            logger.warning("cannot listen on %s, polling instead: %s", self.channel, exc.__class__.__name__)
            return None
        self._connection = connection
        return connection

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """True when woken by a notification (or one that arrived while busy), False otherwise."""
        if stop.is_set():
            return False
        connection = self._listen() if self.database.is_postgresql else None
        if connection is None:
            stop.wait(min(timeout, self.fallback_interval))
            return False
        import psycopg

        try:
            # Notifications that came while the loop was busy: one more poll covers them all.
            if any(True for _ in connection.notifies(timeout=0)):
                return True
            deadline = time.monotonic() + timeout
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Short slices, so that a stop request is noticed within half a second.
                for _ in connection.notifies(timeout=min(remaining, 0.5), stop_after=1):
                    return True
            return False
        except psycopg.Error as exc:
            logger.warning("listening on %s failed, polling instead: %s", self.channel, exc.__class__.__name__)
            self.close()
            self._failed_at = time.monotonic()
            stop.wait(min(timeout, self.fallback_interval))
            return False

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # a broken connection may fail to close; it is dropped either way
                logger.debug("closing the listening connection failed", exc_info=True)
            self._connection = None
