"""SQLAlchemy 2 engine, sessions, the SQL unit of work that every handler runs inside, and upsert."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, cast

from psycopg import pq
from sqlalchemy import Connection, Engine, Table, create_engine, event, insert, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock, SystemClock
from .events import DomainEvent, outgoing_event

__all__ = ["NAMING_CONVENTION", "PING_AFTER_IDLE_SECONDS", "Database", "SqlUnitOfWork", "upsert"]

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names every service's ``MetaData`` uses, so Alembic migrations name things alike."""


#: A pooled connection back in the pool for less than this is not pinged when taken out again
#: (the idea of HikariCP's ``aliveBypassWindowMs``, also 0.5 s there). Under load connections come
#: back within milliseconds, so the ping - a round trip and ~0.07 ms of CPU on each side per
#: transaction - is spent only after a pause, which is when a restarted server or a dropped
#: connection may have gone unnoticed.
PING_AFTER_IDLE_SECONDS = 0.5


def _check_liveness_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection on checkout only when it has been idle: the pessimistic check, made cheap."""
    dialect = engine.dialect

    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # As pre-ping does: this connection and every one older are replaced.
                raise InvalidatePoolError() from exc
            raise

    event.listen(engine, "connect", _stamp)
    event.listen(engine, "checkin", _stamp)
    event.listen(engine, "checkout", _checkout)


class Database:
    """One engine and session factory for a service's own database."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20, echo: bool = False) -> None:
        self.url = url
        options: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
                pool_timeout=10,
            )
        self.engine: Engine = create_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            _check_liveness_after_idle(self.engine, PING_AFTER_IDLE_SECONDS)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads that are one statement need no transaction: without BEGIN and ROLLBACK a lookup is
        # one round trip instead of three (a single statement sees one consistent snapshot anyway).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = sessionmaker(self._autocommit, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def session(self) -> Session:
        return self._sessions()

    def read_session(self) -> Session:
        """A session whose statements each run on their own, outside any transaction (nothing to commit)."""
        return self._read_sessions()

    def autocommit(self) -> Connection:
        """A connection whose statements each commit on their own (for single-statement writes)."""
        return self._autocommit.connect()

    def unit_of_work(
        self,
        *,
        source: str = "",
        traceparent: str | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, source=source, traceparent=traceparent, clock=clock, read_only=read_only)

    def reading(self, *, source: str = "", traceparent: str | None = None, clock: Clock | None = None) -> SqlUnitOfWork:
        """A unit of work for a handler that only reads, each statement on its own (autocommit):
        ``unit_of_work(read_only=True)``.

        No BEGIN and no ROLLBACK travel to the server: one round trip per statement. A single
        statement sees one snapshot as in a transaction, so this suits handlers that read with one
        statement; it cannot publish or commit.
        """
        return self.unit_of_work(source=source, traceparent=traceparent, clock=clock, read_only=True)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class SqlUnitOfWork:
    """One database transaction: the state change and its outbox events commit together or not at all.

    What :meth:`Database.unit_of_work` returns; it implements :class:`mai_chassis.UnitOfWork`.
    Rolls back on leaving the block unless :meth:`commit` was called::

        with db.unit_of_work(source="petition-svc") as uow:
            uow.session.add(petition)
            uow.publish(PetitionSubmitted(petition_id=petition.id, ...))
            uow.commit()
    """

    def __init__(
        self,
        database: Database,
        *,
        source: str = "",
        traceparent: str | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self.database = database
        self.source = source
        self.traceparent = traceparent
        self.clock: Clock = clock or SystemClock()
        #: A query's unit of work: each statement on its own (no BEGIN, no ROLLBACK), nothing to publish or commit.
        self.read_only = read_only
        # Made when first used: a read that runs on the driver (fetch_first) needs none.
        self._session: Session | None = None
        self._committed = False
        #: The events added to the outbox by this unit of work (type, subject, id), committed or not.
        self.published: list[Mapping[str, Any]] = []
        # Outbox rows not yet written: inserted in one statement at flush or commit, without the ORM
        # (an outbox row is never read back in the transaction that writes it).
        self._outbox: list[dict[str, Any]] = []

    @property
    def session(self) -> Session:
        """The unit of work's session (a read-only one's statements each run on their own)."""
        if self._session is None:
            self._session = self.database.read_session() if self.read_only else self.database.session()
        return self._session

    @session.setter
    def session(self, session: Session) -> None:
        self._session = session

    @property
    def began(self) -> bool:
        """Whether anything was read or written through the session yet (or is pending): a unit of
        work that began nothing can run its one write alone (see :meth:`commit_with`)."""
        session = self._session
        return bool(self._outbox) or (
            session is not None and bool(session.in_transaction() or session.new or session.dirty or session.deleted)
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self._session
        if session is None:
            return
        try:
            if not self._committed:
                session.rollback()
        finally:
            session.close()

    def publish(
        self,
        event: DomainEvent | str,
        /,
        *,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> str:
        """Validate the event against its contract and add it to the outbox; returns the event id.

        Takes a typed :class:`~mai_chassis.events.DomainEvent`, or (while services move to them)
        ``publish(event_type, subject=..., data=..., key=None)``.
        """
        from .outbox import outbox_values

        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot publish: use Database.unit_of_work()")
        outgoing = outgoing_event(event, subject=subject, data=data, key=key)
        row = outbox_values(
            event_type=outgoing.type,
            source=self.source,
            subject=outgoing.subject,
            data=outgoing.data,
            key=outgoing.key,
            traceparent=self.traceparent,
        )
        self._outbox.append(row)
        event_id = str(row["event_id"])
        self.published.append({"type": outgoing.type, "subject": outgoing.subject, "id": event_id})
        return event_id

    def _write_outbox(self) -> None:
        if self._outbox:
            from .tables import OutboxEvent

            rows, self._outbox = self._outbox, []
            # On the session's connection, as Core: no ORM bulk machinery for rows never read back.
            table = cast(Table, OutboxEvent.__table__)
            self.session.connection().execute(insert(table).values(rows))

    def flush(self) -> None:
        self.session.flush()
        self._write_outbox()

    def take_outbox(self) -> list[dict[str, Any]]:
        """The outbox rows published (and checked) but not written yet, handed to the caller to
        insert itself in this transaction, e.g. within its own statement; they are no longer written
        at flush or commit. Each is the ``outbox_events`` columns' values (see ``outbox_values``).
        They stay in :attr:`published`, as the events of a unit of work that does not commit do."""
        rows, self._outbox = self._outbox, []
        return rows

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        self.flush()
        self.session.commit()
        self._committed = True

    def commit_with(self, sql: str, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Write what is pending, run ``sql`` (the driver's paramstyle, ``%(name)s`` on PostgreSQL)
        as the transaction's last statement, and commit; returns the statement's first row, if any.

        On PostgreSQL the statement and the ``COMMIT`` travel together (psycopg's pipeline mode):
        the row locks the statement takes are held while the server runs it and commits, not for
        another round trip and the wait of this thread for the interpreter in between. When the unit
        of work has begun no transaction (nothing read or written through its session, nothing
        pending), the statement is the whole transaction: it runs on its own, in autocommit, in one
        round trip without ``BEGIN`` or ``COMMIT``. A failing statement raises SQLAlchemy's exception
        for it (``IntegrityError``, ...), with nothing committed (the unit of work then rolls back as
        usual).
        """
        if self.read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        if not self.database.is_postgresql:
            session = self.session
            self.flush()
            result = session.connection().exec_driver_sql(sql, dict(parameters))
            first = result.first() if result.returns_rows else None
            session.commit()
            self._committed = True
            return tuple(first) if first is not None else None
        if not self.began:
            return _run_alone(self.database, sql, parameters)
        session = self.session
        self.flush()
        row = _run_on_driver(session.connection(), sql, parameters, with_commit=True)
        # The transaction is over on the server; the session's own commit sends nothing more.
        session.commit()
        self._committed = True
        return row

    def fetch_first(self, sql: str, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement (the driver's paramstyle) straight through the driver and return its first
        row as a tuple (None: no row), without SQLAlchemy's result objects: for a hot read whose SQL is
        fixed. A read-only unit of work runs it outside any transaction, on a connection of its own
        (the session is not used); any other in its session's transaction. PostgreSQL only.
        """
        if not self.database.is_postgresql:
            raise NotImplementedError("fetch_first runs psycopg's own cursor: PostgreSQL only")
        if self.read_only:
            return _run_alone(self.database, sql, parameters)
        self.flush()
        return _run_on_driver(self.session.connection(), sql, parameters, with_commit=False)

    def rollback(self) -> None:
        self._outbox.clear()
        self.session.rollback()


#: A statement that returned rows (perhaps none).
_TUPLES_OK = pq.ExecStatus.TUPLES_OK


def _run_on_driver(
    connection: Connection, sql: str, parameters: Mapping[str, Any], *, with_commit: bool
) -> tuple[Any, ...] | None:
    """``sql`` on the connection's psycopg connection, followed by ``COMMIT`` in the same round trip
    when ``with_commit``; its first row, if any; a driver error raised as SQLAlchemy raises it."""
    return _execute(
        connection.connection.driver_connection, connection.dialect, connection.invalidate, sql, parameters, with_commit
    )


def _run_alone(database: Database, sql: str, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """``sql`` on a pooled connection of its own, in autocommit (the statement is its own transaction).

    The pool's connection is switched to autocommit and back directly, without SQLAlchemy's
    ``Connection`` and its isolation-level bookkeeping (a third of the cost of a short statement).
    """
    dialect = database.engine.dialect
    try:
        pooled = database.engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:
        # The engine's raw_connection() lets the driver's connect error through as it is; raised as
        # SQLAlchemy raises it from a session (OperationalError: the database is unreachable).
        raise DBAPIError.instance(
            None, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, connection_invalidated=True
        ) from exc
    try:
        driver: Any = pooled.driver_connection  # a psycopg.Connection, idle between transactions
        _switch_autocommit(pooled, driver, dialect, on=True)
        try:
            return _execute(driver, dialect, pooled.invalidate, sql, parameters, False)
        finally:
            if not driver.closed:
                _switch_autocommit(pooled, driver, dialect, on=False)
    finally:
        pooled.close()


def _switch_autocommit(pooled: Any, driver: Any, dialect: Any, *, on: bool) -> None:
    """Set an idle connection's autocommit; a connection that cannot be set is not pooled again."""
    try:
        driver.autocommit = on
    except dialect.loaded_dbapi.Error as exc:
        pooled.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True) from exc


def _execute(
    driver: Any,
    dialect: Any,
    invalidate: Callable[[BaseException], None],
    sql: str,
    parameters: Mapping[str, Any],
    with_commit: bool,
) -> tuple[Any, ...] | None:
    try:
        if with_commit:
            with driver.pipeline():
                cursor = driver.execute(sql, parameters)
                driver.commit()
        else:
            cursor = driver.execute(sql, parameters)
        # The result's status, not cursor.description: that builds a column object per column.
        result = cursor.pgresult
        row = cursor.fetchone() if result is not None and result.status == _TUPLES_OK else None
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, driver, None):
            invalidate(exc)  # as SQLAlchemy does: the pool does not hand it out again
        # As SQLAlchemy raises them (IntegrityError, OperationalError...); the values stay out of the message.
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True) from exc
    return tuple(row) if row is not None else None


def upsert(
    session: Session,
    table: Table | type[Any],
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET update`` (or ``DO NOTHING``), on PostgreSQL and SQLite.

    ``table`` is a ``Table`` or a mapped class; ``values`` maps column names to values; ``key``
    names the columns of the unique constraint (or primary key) that may conflict; ``update``
    the columns that take the new row's values when it does. Runs in the session's transaction.
    """
    target: Table = table if isinstance(table, Table) else table.__table__
    unknown = [name for name in (*values, *key, *update) if name not in target.c]
    if unknown:
        raise ValueError(f"{target.name} has no column {', '.join(sorted(set(unknown)))}")
    if not key:
        raise ValueError("upsert needs the key columns of a unique constraint")
    dialect = session.get_bind().dialect.name
    insert: Callable[[Table], Any]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"upsert is written for PostgreSQL and SQLite, not {dialect}")
    statement = insert(target).values(dict(values))
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: statement.excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    session.execute(statement)
