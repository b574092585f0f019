"""In-memory twins for handler unit tests: a unit of work on SQLite in memory with its outbox in a list.

A handler test needs no Flask, no PostgreSQL and no Kafka::

    def test_a_submitted_petition_is_announced() -> None:
        uow = FakeUnitOfWork(Base.metadata, clock=FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
        submit_petition(uow, deps, SubmitPetition(...))
        assert uow.commits == 1
        assert uow.events_of(PetitionSubmitted)[0].registration_number == "P-2026-000001"

Events are checked against ``contracts/`` when published, exactly as the real outbox checks
them, so a test fails on an event the platform would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from ..clock import Clock, FixedClock
from ..events import DomainEvent, outgoing_event
from ..outbox import outbox_row
from ..tables import ChassisBase

__all__ = ["FakeUnitOfWork", "PublishedEvent"]

E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True)
class PublishedEvent:
    """An event that reached the fake outbox: as it would be sent, and the typed event if it was one."""

    id: str
    type: str
    subject: str
    key: str
    data: dict[str, Any]
    event: DomainEvent | None = None


class FakeUnitOfWork:
    """A :class:`mai_chassis.UnitOfWork` on one in-memory SQLite connection, for fast handler tests.

    ``metadata`` (one ``MetaData`` or several) is created with ``create_all``, after the chassis'
    own tables (used challenges, idempotency keys...) as in a real database. The same instance
    serves several transactions in a row, like a database: ``.published`` lists the events of
    committed transactions only, ``.commits`` counts commits, and a rollback (or leaving a
    ``with`` block without committing) discards the pending events with the pending rows.
    ``clock`` defaults to a clock fixed at the moment the fake was made.
    """

    def __init__(
        self, metadata: MetaData | Iterable[MetaData], *, clock: Clock | None = None, source: str = "test-svc"
    ) -> None:
        self.source = source
        self.clock: Clock = clock or FixedClock(datetime.now(UTC))
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}, future=True
        )
        event.listen(self.engine, "connect", _enforce_foreign_keys)
        # The chassis' own tables are in every service's database (the outbox stays in memory here).
        for each in [ChassisBase.metadata, *([metadata] if isinstance(metadata, MetaData) else metadata)]:
            each.create_all(self.engine)
        self.session: Session = Session(self.engine, expire_on_commit=False)
        self.published: list[PublishedEvent] = []
        self.commits = 0
        self.rollbacks = 0
        self._pending: list[PublishedEvent] = []
        self._committed_in_block = False

    def __enter__(self) -> Self:
        self._committed_in_block = False
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed_in_block:
                self.rollback()
        finally:
            self.session.close()

    def publish(
        self,
        event: DomainEvent | str,
        /,
        *,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> str:
        """Check the event as the real outbox does (topic, contract, JSON) and keep it until commit."""
        outgoing = outgoing_event(event, subject=subject, data=data, key=key)
        row = outbox_row(
            event_type=outgoing.type, source=self.source, subject=outgoing.subject, data=outgoing.data, key=outgoing.key
        )
        self._pending.append(
            PublishedEvent(
                id=row.event_id,
                type=outgoing.type,
                subject=outgoing.subject,
                key=outgoing.key,
                data=outgoing.data,
                event=event if isinstance(event, DomainEvent) else None,
            )
        )
        return row.event_id

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()
        self.published.extend(self._pending)
        self._pending.clear()
        self.commits += 1
        self._committed_in_block = True

    def rollback(self) -> None:
        self.session.rollback()
        self._pending.clear()
        self.rollbacks += 1

    def events_of(self, event_class: type[E]) -> list[E]:
        """The committed typed events of ``event_class``, in the order they were published."""
        return [each.event for each in self.published if isinstance(each.event, event_class)]

    @property
    def published_types(self) -> list[str]:
        """The CloudEvents types of the committed events, in order."""
        return [each.type for each in self.published]

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()


def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
