"""The unit of work every use case runs inside: one transaction, its outbox events and its clock.

Two implementations: :class:`mai_chassis.db.SqlUnitOfWork` (the service's database, the
outbox table) and :class:`mai_chassis.testing.fakes.FakeUnitOfWork` (SQLite in memory, the
outbox in a list) for handler unit tests. A handler is written against this protocol::

    def submit_petition(uow: UnitOfWork, deps: PetitionDeps, command: SubmitPetition) -> Petition:
        petition = Petition(..., registered_at=uow.clock.now())
        uow.session.add(petition)
        uow.publish(PetitionSubmitted(petition_id=petition.id, ...))
        uow.commit()
        return petition
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self, overload

from sqlalchemy.orm import Session

from .clock import Clock
from .events import DomainEvent

__all__ = ["UnitOfWork"]


class UnitOfWork(Protocol):
    """One transaction: the state change and the events announcing it commit together or not at all.

    Used as a context manager it rolls back on leaving the block unless :meth:`commit` was called.
    """

    session: Session
    clock: Clock

    @overload
    def publish(self, event: DomainEvent, /) -> str: ...

    @overload
    def publish(self, event: str, /, *, subject: str, data: Mapping[str, Any], key: str | None = None) -> str: ...

    def publish(
        self,
        event: DomainEvent | str,
        /,
        *,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> str:
        """Check the event against its contract and add it to the outbox; returns the event id.

        The old form ``publish(event_type, subject=..., data=..., key=None)`` is accepted while
        services move to typed events.
        """
        ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
