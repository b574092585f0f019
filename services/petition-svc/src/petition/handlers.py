"""Use cases of petition-svc: one function each, one transaction each, events through the outbox."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import domain
from .attachments import AttachmentStore
from .directory import Directory
from .domain import Closure, PetitionRuleBroken, RegistrationNumber, Status
from .tables import Attachment, Petition, RegistrationCounter

__all__ = [
    "NewPetition",
    "PetitionNotFound",
    "UploadedAttachment",
    "answer",
    "assign",
    "close",
    "count_overdue",
    "extend_deadline",
    "find_by_number",
    "find_for_petitioner",
    "forward",
    "join",
    "queue",
    "register_petition",
    "remind_deadlines",
]

SUBMITTED = "ro.mai.petition.submitted.v1"
FORWARDED = "ro.mai.petition.forwarded.v1"
ANSWERED = "ro.mai.petition.answered.v1"
CLOSED = "ro.mai.petition.closed.v1"
DEADLINE_EXTENDED = "ro.mai.petition.deadline_extended.v1"
DEADLINE_REMINDER_ISSUED = "ro.mai.petition.deadline_reminder_issued.v1"


class PetitionNotFound(Exception):
    """No petition with that number (or, for the public, not with that e-mail either)."""


@dataclass(frozen=True)
class UploadedAttachment:
    content: bytes
    media_type: str
    display_name: str


@dataclass(frozen=True)
class NewPetition:
    kind: str
    institution: str
    field: str
    subject: str
    text: str
    name: str
    email: str
    language: str = "ro"
    phone: str | None = None
    address: str | None = None


# --- numbering ----------------------------------------------------------------------------------


def next_registration_number(session: Session, institution: str, year: int) -> RegistrationNumber:
    """Take the next number of ``institution`` in ``year``.

    One upsert increments the counter row and returns the new value; the row stays locked until
    the submit transaction ends, so concurrent submits queue on it, and a rolled-back submit gives
    its number back — the sequence has no gaps and no duplicates.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RegistrationCounter)
        .values(institution=institution, year=year, last_sequence=1)
        .on_conflict_do_update(
            index_elements=[RegistrationCounter.institution, RegistrationCounter.year],
            set_={"last_sequence": RegistrationCounter.last_sequence + 1},
        )
        .returning(RegistrationCounter.last_sequence)
    )
    return RegistrationNumber(institution, year, int(session.execute(statement).scalar_one()))


# --- submit -------------------------------------------------------------------------------------


def register_petition(
    uow: UnitOfWork,
    petition: NewPetition,
    *,
    directory: Directory,
    store: AttachmentStore,
    attachments: Sequence[UploadedAttachment] = (),
    channel: str = "web",
    citizen_id: str | None = None,
    at: datetime | None = None,
) -> Petition:
    """Register a petition at once: number, deadlines, attachments, ``petition.submitted``.

    A petition with the same content as one of the same petitioner that was already answered is
    registered and filed at once as its repeat (OG 27/2002 art. 16), with a reference to it.
    """
    institution = directory.institution(petition.institution)
    if institution is None:  # the API checked it; a handler never trusts its caller on this
        raise PetitionRuleBroken("Unknown institution.", kind="unknown-institution", status=422)
    registered_at = at or domain.now()
    email = domain.normalise_email(petition.email)
    fingerprint = domain.content_fingerprint(email, institution.code, petition.subject, petition.text)
    session = uow.session
    answered_original = session.scalar(
        select(Petition)
        .where(Petition.content_fingerprint == fingerprint, Petition.status == Status.ANSWERED.value)
        .order_by(Petition.answered_at)
        .limit(1)
    )
    stored = [store.put(item.content) for item in attachments]

    # Everything else is ready: take the number last, so the counter row is locked only briefly.
    number = next_registration_number(session, institution.code, domain.local_date(registered_at).year)
    row = Petition(
        id=str(uuid.uuid4()),
        registration_number=str(number),
        kind=petition.kind,
        channel=channel,
        institution=institution.code,
        field=petition.field,
        subject=petition.subject,
        text=petition.text,
        language=petition.language,
        petitioner_name=petition.name,
        petitioner_email=email,
        petitioner_phone=petition.phone,
        petitioner_address=petition.address,
        citizen_id=citizen_id,
        content_fingerprint=fingerprint,
        status=Status.REGISTERED.value,
        registered_at=registered_at,
        answer_due_on=domain.answer_due_on(registered_at),
        forward_due_on=domain.forward_due_on(registered_at),
        deadline_extended=False,
        attachments=[
            Attachment(
                position=position,
                sha256=file.sha256,
                media_type=item.media_type,
                size=file.size,
                display_name=item.display_name,
            )
            for position, (item, file) in enumerate(zip(attachments, stored, strict=True), start=1)
        ],
    )
    if answered_original is not None:
        row.status, row.closure = Status.CLOSED.value, Closure.REPEAT.value
        row.repeat_of, row.closed_at = answered_original, registered_at
    session.add(row)
    data: dict[str, Any] = {
        **_facts(row),
        "channel": channel,
        "attachment_count": len(stored),
        "answer_due_on": row.answer_due_on.isoformat(),
        "recipient": _recipient(row),
    }
    if citizen_id:
        data["citizen_id"] = citizen_id
    if answered_original is not None:
        data["repeat_of_registration_number"] = answered_original.registration_number
    uow.publish(SUBMITTED, subject=row.id, data=data)
    if answered_original is not None:
        _publish_closed(uow, row, related=answered_original)
    return row


# --- reading ------------------------------------------------------------------------------------


def find_by_number(session: Session, registration_number: str, *, for_update: bool = False) -> Petition:
    statement = select(Petition).where(Petition.registration_number == registration_number.strip().upper())
    if for_update:
        statement = statement.with_for_update()
    petition = session.scalar(statement)
    if petition is None:
        raise PetitionNotFound(registration_number)
    return petition


#: A citizen's own petitions are listed newest first, at most this many.
MAX_OWN_PETITIONS = 100


def petitions_of_citizen(session: Session, citizen_id: str) -> list[Petition]:
    """The petitions a signed-in citizen sent (those sent while signed in carry their account id)."""
    statement = (
        select(Petition)
        .where(Petition.citizen_id == citizen_id)
        .order_by(Petition.registered_at.desc(), Petition.registration_number.desc())
        .limit(MAX_OWN_PETITIONS)
    )
    return list(session.scalars(statement))


def find_for_petitioner(session: Session, registration_number: str, email: str) -> Petition:
    """The petition, only when ``email`` is the petitioner's; otherwise exactly as if it did not exist."""
    petition = session.scalar(
        select(Petition).where(Petition.registration_number == registration_number.strip().upper())
    )
    expected = petition.petitioner_email if petition is not None else "\x00" * 32
    if not hmac.compare_digest(expected.encode(), domain.normalise_email(email).encode()) or petition is None:
        raise PetitionNotFound(registration_number)
    return petition


@dataclass(frozen=True)
class QueueFilter:
    institution: str
    status: str | None = None
    field: str | None = None
    kind: str | None = None
    assignee: str | None = None
    overdue: bool | None = None


def _queue_query(criteria: QueueFilter, today: date) -> Select[Any]:
    statement = select(Petition).where(Petition.institution == criteria.institution)
    if criteria.status:
        statement = statement.where(Petition.status == criteria.status)
    if criteria.field:
        statement = statement.where(Petition.field == criteria.field)
    if criteria.kind:
        statement = statement.where(Petition.kind == criteria.kind)
    if criteria.assignee:
        statement = statement.where(Petition.assignee == criteria.assignee)
    if criteria.overdue is not None:
        is_open = Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value])
        late = is_open & ((Petition.answer_due_on < today) | Petition.forwarded_late)
        statement = statement.where(late if criteria.overdue else ~late)
    return statement


def queue(session: Session, criteria: QueueFilter, *, page: int, page_size: int) -> tuple[list[Petition], int]:
    """One page of an institution's petitions, the most urgent first, and how many match in all."""
    today = domain.local_date(domain.now())
    statement = _queue_query(criteria, today)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    rows = session.scalars(
        statement.order_by(Petition.answer_due_on, Petition.registered_at, Petition.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total


def count_overdue(session: Session, today: date) -> dict[str, int]:
    """Open petitions past their answer deadline, per institution."""
    rows = session.execute(
        select(Petition.institution, func.count())
        .where(
            Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value]),
            Petition.answer_due_on < today,
        )
        .group_by(Petition.institution)
    ).all()
    return {institution: int(count) for institution, count in rows}


# --- clerk actions ------------------------------------------------------------------------------


def assign(uow: UnitOfWork, petition: Petition, *, assignee: str, at: datetime | None = None) -> Petition:
    domain.require_open(Status(petition.status), "assigned")
    petition.assignee = assignee
    petition.assigned_at = at or domain.now()
    petition.status = Status.IN_PROGRESS.value
    return petition


def forward(
    uow: UnitOfWork, petition: Petition, *, to_institution: str, directory: Directory, at: datetime | None = None
) -> Petition:
    """Send a petition to the competent institution; its 30 days start again there; the petitioner is told."""
    if directory.institution(to_institution) is None:
        raise PetitionRuleBroken("Unknown institution.", kind="unknown-institution", status=422)
    domain.require_can_forward(Status(petition.status), petition.institution, to_institution)
    forwarded_at = at or domain.now()
    petition.forwarded_from, petition.institution = petition.institution, to_institution
    petition.forwarded_at = forwarded_at
    petition.forwarded_late = petition.forwarded_late or domain.forwarded_late(forwarded_at, petition.forward_due_on)
    petition.status, petition.assignee, petition.assigned_at = Status.REGISTERED.value, None, None
    petition.answer_due_on = domain.answer_due_on(forwarded_at)
    petition.deadline_extended, petition.extension_reason = False, None
    uow.publish(
        FORWARDED,
        subject=petition.id,
        data={
            "petition_id": petition.id,
            "registration_number": petition.registration_number,
            "from_institution": petition.forwarded_from,
            "to_institution": to_institution,
            "field": petition.field,
            "kind": petition.kind,
            "registered_at": _instant(petition.registered_at),
            "forwarded_at": _instant(forwarded_at),
            "forwarded_within_deadline": not domain.forwarded_late(forwarded_at, petition.forward_due_on),
            "answer_due_on": petition.answer_due_on.isoformat(),
            "recipient": _recipient(petition),
        },
    )
    return petition


def answer(uow: UnitOfWork, petition: Petition, *, text: str, answered_by: str, at: datetime | None = None) -> Petition:
    """Send the answer (it covers every petition joined to this one) and close the file."""
    domain.require_open(Status(petition.status), "answered")
    answered_at = at or domain.now()
    joined = uow.session.scalars(select(Petition).where(Petition.joined_to_id == petition.id)).all()
    petition.answer, petition.answered_at, petition.answered_by = text, answered_at, answered_by
    petition.status, petition.closure, petition.closed_at = Status.ANSWERED.value, Closure.ANSWERED.value, answered_at
    data: dict[str, Any] = {
        **_facts(petition),
        "answer_due_on": petition.answer_due_on.isoformat(),
        "answered_at": _instant(answered_at),
        "within_deadline": domain.within_deadline(answered_at, petition.answer_due_on),
        "answer": text,
        "recipient": _recipient(petition),
    }
    if joined:
        data["joined_petition_ids"] = [other.id for other in joined]
        data["joined_registration_numbers"] = [other.registration_number for other in joined]
    uow.publish(ANSWERED, subject=petition.id, data=data)
    _publish_closed(uow, petition)
    return petition


def join(uow: UnitOfWork, petition: Petition, others: Sequence[Petition], *, at: datetime | None = None) -> Petition:
    """Join other petitions of the same petitioner on the same problem to ``petition``: one answer for all."""

    def candidate(row: Petition) -> domain.JoinCandidate:
        return domain.JoinCandidate(
            row.id, row.registration_number, row.institution, row.petitioner_email, Status(row.status)
        )

    domain.require_can_join(candidate(petition), [candidate(other) for other in others])
    joined_at = at or domain.now()
    for other in others:
        other.status, other.closure, other.closed_at = Status.CLOSED.value, Closure.JOINED.value, joined_at
        other.joined_to_id = petition.id
        # The joint answer is due by the earliest deadline of the petitions it covers.
        petition.answer_due_on = min(petition.answer_due_on, other.answer_due_on)
        _publish_closed(uow, other, related=petition, at=joined_at)
    return petition


def close(
    uow: UnitOfWork,
    petition: Petition,
    *,
    closure: Closure,
    repeat_of: Petition | None = None,
    at: datetime | None = None,
) -> Petition:
    domain.require_can_close(Status(petition.status), closure, kind=petition.kind)
    if closure is Closure.REPEAT:
        if repeat_of is None or repeat_of.status != Status.ANSWERED.value:
            raise PetitionRuleBroken(
                "A repeat refers to a petition that was already answered.", kind="repeat-of-unanswered", status=422
            )
        if repeat_of.petitioner_email != petition.petitioner_email or repeat_of.id == petition.id:
            raise PetitionRuleBroken(
                "A repeat refers to an earlier petition of the same petitioner.",
                kind="repeat-other-petitioner",
                status=422,
            )
        petition.repeat_of_id = repeat_of.id
    closed_at = at or domain.now()
    petition.status, petition.closure, petition.closed_at = Status.CLOSED.value, closure.value, closed_at
    _publish_closed(uow, petition, related=repeat_of, at=closed_at)
    return petition


def extend_deadline(
    uow: UnitOfWork, petition: Petition, *, days: int, reason: str, at: datetime | None = None
) -> Petition:
    """Extend the answer deadline once, with a reason; the petitioner is told the new date and why."""
    domain.require_open(Status(petition.status), "extended")
    previous = petition.answer_due_on
    petition.answer_due_on = domain.extended_due_on(previous, days, already_extended=petition.deadline_extended)
    petition.deadline_extended, petition.extension_reason = True, reason
    uow.publish(
        DEADLINE_EXTENDED,
        subject=petition.id,
        data={
            **_facts(petition),
            "previous_answer_due_on": previous.isoformat(),
            "answer_due_on": petition.answer_due_on.isoformat(),
            "extension_days": days,
            "reason": reason,
            "extended_at": _instant(at or domain.now()),
            "recipient": _recipient(petition),
        },
    )
    return petition


# --- reminders ----------------------------------------------------------------------------------


def remind_deadlines(
    uow: UnitOfWork, *, working_days: int, at: datetime | None = None, batch_size: int = 200
) -> list[Petition]:
    """Remind the assigned clerks of one batch of answer deadlines ``working_days`` working days away.

    One reminder per petition and deadline: the deadline reminded of is kept on the petition, so a
    second run finds nothing new, and an extension or a forward (a new deadline) brings a new one.
    Rows another run has locked are skipped, so several runs at once never remind twice.
    """
    reminded_at = at or domain.now()
    today = domain.local_date(reminded_at)
    statement = (
        select(Petition)
        .where(
            Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value]),
            Petition.assignee.is_not(None),
            Petition.answer_due_on >= today,
            Petition.answer_due_on <= domain.latest_deadline_to_remind(today, working_days),
            Petition.reminded_for_due_on.is_(None) | (Petition.reminded_for_due_on != Petition.answer_due_on),
        )
        .order_by(Petition.answer_due_on, Petition.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    petitions = list(uow.session.scalars(statement).all())
    for petition in petitions:
        petition.reminded_for_due_on = petition.answer_due_on
        uow.publish(
            DEADLINE_REMINDER_ISSUED,
            subject=petition.id,
            data={
                **_facts(petition),
                "answer_due_on": petition.answer_due_on.isoformat(),
                "deadline_extended": petition.deadline_extended,
                "working_days_left": domain.working_days_left(today, petition.answer_due_on),
                "assignee": petition.assignee,
                "reminded_at": _instant(reminded_at),
            },
        )
    return petitions


# --- event data ---------------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    return domain.as_utc(moment).isoformat().replace("+00:00", "Z")


def _facts(petition: Petition) -> dict[str, Any]:
    return {
        "petition_id": petition.id,
        "registration_number": petition.registration_number,
        "institution": petition.institution,
        "field": petition.field,
        "kind": petition.kind,
        "registered_at": _instant(petition.registered_at),
    }


def _recipient(petition: Petition) -> dict[str, str]:
    return {"email": petition.petitioner_email, "name": petition.petitioner_name, "language": petition.language}


def _publish_closed(
    uow: UnitOfWork, petition: Petition, *, related: Petition | None = None, at: datetime | None = None
) -> None:
    data: dict[str, Any] = {
        **_facts(petition),
        "outcome": petition.closure,
        "closed_at": _instant(at or petition.closed_at or domain.now()),
    }
    if related is not None:
        data["related_petition_id"] = related.id
    uow.publish(CLOSED, subject=petition.id, data=data)
