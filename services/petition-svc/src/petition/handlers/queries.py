"""Reading petitions: the petitioner's status lookup, a citizen's own list, the staff's views and queue."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

from mai_chassis import UnitOfWork
from mai_chassis.auth import Principal
from sqlalchemy import Select, func, select
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
    assignee: str | None = None
    overdue: bool | None = None


@dataclass(frozen=True)
class QueuePage:
    items: list[Petition]
    page: int
    page_size: int
    total: int


def look_up_status(uow: UnitOfWork, deps: PetitionDeps, query: StatusLookup) -> Petition:
    """The petition, only when ``email`` is the petitioner's; otherwise exactly as if it did not exist."""
    petition = uow.session.scalar(
        select(Petition).where(Petition.registration_number == query.registration_number.strip().upper())
    )
    expected = petition.petitioner_email if petition is not None else "\x00" * 32
    if not hmac.compare_digest(expected.encode(), domain.normalise_email(query.email).encode()) or petition is None:
        raise PetitionNotFound()
    return petition


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
    statement = _queue_query(query, uow.clock.today())
    total = int(uow.session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    rows = uow.session.scalars(
        statement.order_by(Petition.answer_due_on, Petition.registered_at, Petition.id)
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    ).all()
    return QueuePage(items=list(rows), page=query.page, page_size=query.page_size, total=total)


def _queue_query(query: ClerksQueue, today: date) -> Select[Any]:
    statement = select(Petition).where(Petition.institution == query.institution)
    if query.status:
        statement = statement.where(Petition.status == query.status)
    if query.field:
        statement = statement.where(Petition.field == query.field)
    if query.kind:
        statement = statement.where(Petition.kind == query.kind)
    if query.assignee:
        statement = statement.where(Petition.assignee == query.assignee)
    if query.overdue is not None:
        is_open = Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value])
        late = is_open & ((Petition.answer_due_on < today) | Petition.forwarded_late)
        statement = statement.where(late if query.overdue else ~late)
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
