"""audit-svc's use cases: append a staff action to the chain, read the trail, verify the chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mai_chassis import Event, UnitOfWork
from mai_chassis.auth import ANY_UNIT, Principal
from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from .chain import GENESIS, ChainBreak, find_break, row_hash
from .deps import AuditDeps
from .errors import AdminsOnly, BadTimeRange
from .tables import AuditRecord

__all__ = [
    "ADMIN",
    "AuditPage",
    "ReadAuditTrail",
    "VerifyChain",
    "VerifyReport",
    "append_staff_action",
    "read_audit_trail",
    "verify_chain",
]

ADMIN = "admin"
#: One appender at a time: each row's hash needs the one before it (a transaction-scoped lock).
_APPEND_LOCK = int.from_bytes(hashlib.sha256(b"audit-svc:chain").digest()[:8], "big") >> 1
VERIFY_BATCH = 1000


def append_staff_action(uow: UnitOfWork, event: Event) -> AuditRecord | None:
    """The consumer's handler: append the event at the end of the chain (once per event id)."""
    session = uow.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    if session.scalar(select(AuditRecord.seq).where(AuditRecord.event_id == event.id)) is not None:
        return None  # the same event again (a replay after a crash): the trail already has it
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.row_hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, previous = (last.seq + 1, last.row_hash) if last is not None else (1, GENESIS)
    data, subject = event.data, event.data["subject"]
    values = {
        "seq": seq,
        "event_id": event.id,
        "service": event.source,
        "actor_id": data["actor"],
        "role": data.get("role"),
        "unit": data.get("unit"),
        "action": data["action"],
        "subject_type": subject["type"],
        "subject_id": subject["id"],
        "subject_number": subject.get("number"),
        "occurred_at": datetime.fromisoformat(data["occurred_at"]).astimezone(UTC),
        "outcome": data["outcome"],
        "recorded_at": uow.clock.now().astimezone(UTC),
    }
    record = AuditRecord(**values, prev_hash=previous, row_hash=row_hash(previous, values))
    session.add(record)
    return record


@dataclass(frozen=True)
class ReadAuditTrail:
    principal: Principal
    actor_id: str | None = None
    unit: str | None = None
    #: The service that recorded the action (``petition-svc``).
    service: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    #: The case's registration number or its id, whichever the admin has at hand.
    reference: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    #: Rows older than this position (the previous page's ``next_before``); None: the newest.
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class AuditPage:
    records: Sequence[AuditRecord]
    #: Pass as ``before`` for the next (older) page; None when this is the last one.
    next_before: int | None


def read_audit_trail(uow: UnitOfWork, deps: AuditDeps, query: ReadAuditTrail) -> AuditPage:
    """The trail, newest first, filtered; an admin reads the actions of the units they administer."""
    units = query.principal.units_for(ADMIN) if query.principal.is_staff else set()
    if not units:
        raise AdminsOnly()
    if query.occurred_from and query.occurred_to and query.occurred_from > query.occurred_to:
        raise BadTimeRange()
    statement = select(AuditRecord)
    if ANY_UNIT not in units:
        statement = statement.where(AuditRecord.unit.in_(sorted(units)))
    for column, wanted in (
        (AuditRecord.actor_id, query.actor_id),
        (AuditRecord.unit, query.unit),
        (AuditRecord.service, query.service),
        (AuditRecord.action, query.action),
        (AuditRecord.subject_type, query.subject_type),
        (AuditRecord.subject_id, query.subject_id),
    ):
        if wanted is not None:
            statement = statement.where(column == wanted)
    if query.reference is not None:
        statement = statement.where(
            or_(AuditRecord.subject_number == query.reference, AuditRecord.subject_id == query.reference)
        )
    if query.occurred_from is not None:
        statement = statement.where(AuditRecord.occurred_at >= query.occurred_from)
    if query.occurred_to is not None:
        statement = statement.where(AuditRecord.occurred_at < query.occurred_to)
    if query.before is not None:
        statement = statement.where(AuditRecord.seq < query.before)
    rows = list(uow.session.scalars(statement.order_by(AuditRecord.seq.desc()).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return AuditPage(records=rows, next_before=rows[-1].seq if more else None)


@dataclass(frozen=True)
class VerifyChain:
    batch_size: int = VERIFY_BATCH


@dataclass(frozen=True)
class VerifyReport:
    rows_checked: int
    last_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_chain(uow: UnitOfWork, deps: AuditDeps, command: VerifyChain) -> VerifyReport:
    """Walk the whole chain in order (in batches) and report the first broken row, if any."""
    checked, previous, next_seq = 0, GENESIS, 1
    for batch in _batches(uow.session, command.batch_size):
        broken = find_break(batch, previous_hash=previous, first_seq=next_seq)
        if broken is not None:
            return VerifyReport(rows_checked=checked, last_hash=previous, broken=broken)
        checked += len(batch)
        previous, next_seq = str(batch[-1]["row_hash"]), int(batch[-1]["seq"]) + 1
    return VerifyReport(rows_checked=checked, last_hash=previous, broken=None)


def _batches(session: Session, size: int) -> Iterator[list[dict[str, Any]]]:
    after = 0
    columns = AuditRecord.__table__.columns
    while True:
        rows = (
            session.execute(select(*columns).where(AuditRecord.seq > after).order_by(AuditRecord.seq).limit(size))
            .mappings()
            .all()
        )
        if not rows:
            return
        yield [dict(row) for row in rows]
        after = int(rows[-1]["seq"])
