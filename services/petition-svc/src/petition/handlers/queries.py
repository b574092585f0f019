"""Reading petitions: the petitioner's status lookup, a citizen's own list, the staff's views and queue."""

from __future__ import annotations

import hmac
from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mai_chassis import UnitOfWork
from mai_chassis.auth import Principal
from mai_chassis.db import SqlUnitOfWork
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from .. import domain
from ..deps import PetitionDeps
from ..domain import Status
from ..errors import AttachmentNotFound, NotYourInstitution, PetitionNotFound
from ..tables import Petition
from .access import CLERK, PHONE_OPERATOR, find_by_number, petition_of_clerk, require_clerk_of

__all__ = [
    "MAX_OWN_PETITIONS",
    "AttachmentFile",
    "CitizensPetitions",
    "ClerksAttachment",
    "ClerksPetition",
    "ClerksQueue",
    "PetitionStatus",
    "QueuePage",
    "StaffStatusLookup",
    "StatusLookup",
    "count_overdue",
    "list_citizens_petitions",
    "look_up_status",
    "read_attachment",
    "read_petition",
    "read_queue",
    "read_status_for_staff",
]

#: A citizen's own petitions are listed newest first, at most this many.
MAX_OWN_PETITIONS = 100
_FILE_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class StatusLookup:
    """The petitioner's question: the number on their receipt and the address it was sent to."""

    registration_number: str
    email: str


@dataclass(frozen=True)
class CitizensPetitions:
    citizen_id: str


@dataclass(frozen=True)
class StaffStatusLookup:
    registration_number: str
    staff: Principal


@dataclass(frozen=True)
class ClerksPetition:
    registration_number: str
    clerk: Principal


@dataclass(frozen=True)
class ClerksAttachment:
    registration_number: str
    position: int
    clerk: Principal


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment to hand out: its bytes, type, and a file name made from the petition's number."""

    content: bytes
    media_type: str
    file_name: str


@dataclass(frozen=True)
class ClerksQueue:
    clerk: Principal
    institution: str
    page: int
    page_size: int
    status: str | None = None
    field: str | None = None
    kind: str | None = None
    #: A staff account id, or ``me``: the clerk asking.
    assignee: str | None = None
    overdue: bool | None = None
    #: Open with the answer deadline in the reminder window (the settings' working days), not past it.
    due_soon: bool | None = None
    forwarded_late: bool | None = None
    channel: str | None = None


@dataclass(frozen=True)
class QueuePage:
    items: list[Petition]
    page: int
    page_size: int
    total: int


@dataclass(frozen=True)
class NumberOf:
    """Another petition, by its registration number."""

    registration_number: str


@dataclass(frozen=True)
class Answered:
    answered_at: datetime | None
    answer: str | None


@dataclass(frozen=True)
class PetitionStatus:
    """What the petitioner's status lookup shows: the petition's progress, never its text,
    petitioner or attachments; ``answering`` is the petition whose answer covers this one."""

    registration_number: str
    kind: str
    status: str
    closure: str | None
    institution: str
    field: str
    registered_at: datetime
    answer_due_on: date
    deadline_extended: bool
    forwarded_from: str | None
    forwarded_at: datetime | None
    closed_at: datetime | None
    answering: Answered
    joined_to: NumberOf | None
    repeat_of: NumberOf | None


_petitions = Petition.__table__
_joined_to = _petitions.alias("joined_to")
_repeat_of = _petitions.alias("repeat_of")
#: One Core statement, built once: the petition's status columns, and the numbers (and answer) of
#: the petitions it was joined to or repeats. Attachments, text and petitioner data are not read.
_STATUS_BY_NUMBER = (
    select(
        *(
            _petitions.c[name]
            for name in (
                "registration_number", "kind", "status", "closure", "institution", "field", "registered_at",
                "answer_due_on", "deadline_extended", "forwarded_from", "forwarded_at", "closed_at", "answered_at",
                "answer", "petitioner_email",
            )
        ),
        _joined_to.c.registration_number.label("joined_number"),
        _joined_to.c.answered_at.label("joined_answered_at"),
        _joined_to.c.answer.label("joined_answer"),
        _repeat_of.c.registration_number.label("repeat_number"),
    )
    .select_from(
        _petitions.outerjoin(_joined_to, _joined_to.c.id == _petitions.c.joined_to_id).outerjoin(
            _repeat_of, _repeat_of.c.id == _petitions.c.repeat_of_id
        )
    )
    .where(_petitions.c.registration_number == bindparam("number"))
)  # fmt: skip


#: The same statement as PostgreSQL runs it, for the driver's own cursor (no SQLAlchemy result objects).
_STATUS_BY_NUMBER_SQL = str(_STATUS_BY_NUMBER.compile(dialect=postgresql.psycopg.dialect()))  # type: ignore[no-untyped-call]
_StatusRow = namedtuple("_StatusRow", [column.name for column in _STATUS_BY_NUMBER.selected_columns])  # type: ignore[misc]


def look_up_status(uow: UnitOfWork, deps: PetitionDeps, query: StatusLookup) -> PetitionStatus:
    """The petition's status, only when ``email`` is the petitioner's; otherwise exactly as if it did
    not exist. One statement (a read-only unit of work runs it without a transaction)."""
    number = query.registration_number.strip().upper()
    row: Any
    if isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql:
        found = uow.fetch_first(_STATUS_BY_NUMBER_SQL, {"number": number})
        row = _StatusRow._make(found) if found is not None else None
    else:
        row = uow.session.execute(_STATUS_BY_NUMBER, {"number": number}).one_or_none()
    # A petition answered by post has no address to match: it is looked up by number on the phone line.
    expected = (row.petitioner_email if row is not None else None) or "\x00" * 32
    if not hmac.compare_digest(expected.encode(), domain.normalise_email(query.email).encode()) or row is None:
        raise PetitionNotFound()
    joined = row.joined_number is not None
    return PetitionStatus(
        registration_number=row.registration_number,
        kind=row.kind,
        status=row.status,
        closure=row.closure,
        institution=row.institution,
        field=row.field,
        registered_at=row.registered_at,
        answer_due_on=row.answer_due_on,
        deadline_extended=row.deadline_extended,
        forwarded_from=row.forwarded_from,
        forwarded_at=row.forwarded_at,
        closed_at=row.closed_at,
        answering=Answered(
            answered_at=row.joined_answered_at if joined else row.answered_at,
            answer=row.joined_answer if joined else row.answer,
        ),
        joined_to=NumberOf(row.joined_number) if joined else None,
        repeat_of=NumberOf(row.repeat_number) if row.repeat_number is not None else None,
    )


def list_citizens_petitions(uow: UnitOfWork, deps: PetitionDeps, query: CitizensPetitions) -> list[Petition]:
    """The petitions a signed-in citizen sent (those sent while signed in carry their account id)."""
    statement = (
        select(Petition)
        .where(Petition.citizen_id == query.citizen_id)
        .order_by(Petition.registered_at.desc(), Petition.registration_number.desc())
        .limit(MAX_OWN_PETITIONS)
    )
    return list(uow.session.scalars(statement))


def read_status_for_staff(uow: UnitOfWork, deps: PetitionDeps, query: StaffStatusLookup) -> Petition:
    """Status by number alone, for the phone line (TELVERDE) and clerks of the petition's institution
    (a national line's operators hold the role in every unit)."""
    petition = find_by_number(uow.session, query.registration_number)
    staff, institution = query.staff, petition.institution
    if not (staff.has_role(PHONE_OPERATOR, institution) or staff.has_role(CLERK, institution)):
        raise NotYourInstitution("You answer for another institution's petitions.")
    return petition


def read_petition(uow: UnitOfWork, deps: PetitionDeps, query: ClerksPetition) -> Petition:
    return petition_of_clerk(uow.session, query.registration_number, query.clerk, for_update=False)


def read_attachment(uow: UnitOfWork, deps: PetitionDeps, query: ClerksAttachment) -> AttachmentFile:
    petition = petition_of_clerk(uow.session, query.registration_number, query.clerk, for_update=False)
    item = next((a for a in petition.attachments if a.position == query.position), None)
    if item is None:
        raise AttachmentNotFound()
    return AttachmentFile(
        content=deps.store.read(item.sha256),
        media_type=item.media_type,
        file_name=f"{petition.registration_number}-{item.position}.{_FILE_EXTENSIONS[item.media_type]}",
    )


def read_queue(uow: UnitOfWork, deps: PetitionDeps, query: ClerksQueue) -> QueuePage:
    """One page of an institution's petitions, the most urgent first, and how many match in all."""
    require_clerk_of(query.clerk, query.institution)
    statement = _queue_query(query, uow.clock.today(), deps.settings.deadline_reminder_working_days)
    total = int(uow.session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    rows = uow.session.scalars(
        statement.order_by(Petition.answer_due_on, Petition.registered_at, Petition.id)
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    ).all()
    return QueuePage(items=list(rows), page=query.page, page_size=query.page_size, total=total)


def _queue_query(query: ClerksQueue, today: date, reminder_working_days: int) -> Select[Any]:
    statement = select(Petition).where(Petition.institution == query.institution)
    is_open = Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value])
    if query.status:
        statement = statement.where(Petition.status == query.status)
    if query.field:
        statement = statement.where(Petition.field == query.field)
    if query.kind:
        statement = statement.where(Petition.kind == query.kind)
    if query.assignee:
        assignee = query.clerk.subject if query.assignee == "me" else query.assignee
        statement = statement.where(Petition.assignee == assignee)
    if query.channel:
        statement = statement.where(Petition.channel == query.channel)
    if query.forwarded_late is not None:
        statement = statement.where(Petition.forwarded_late.is_(query.forwarded_late))
    if query.overdue is not None:
        late = is_open & ((Petition.answer_due_on < today) | Petition.forwarded_late)
        statement = statement.where(late if query.overdue else ~late)
    if query.due_soon is not None:
        last_due_soon = domain.latest_deadline_to_remind(today, reminder_working_days)
        soon = is_open & (Petition.answer_due_on >= today) & (Petition.answer_due_on <= last_due_soon)
        statement = statement.where(soon if query.due_soon else ~soon)
    return statement


def count_overdue(session: Session, today: date) -> dict[str, int]:
    """Open petitions past their answer deadline, per institution (the ``petitions_overdue`` gauge)."""
    rows = session.execute(
        select(Petition.institution, func.count())
        .where(
            Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value]),
            Petition.answer_due_on < today,
        )
        .group_by(Petition.institution)
    ).all()
    return {institution: int(count) for institution, count in rows}
