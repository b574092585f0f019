"""What a clerk does with a petition of their institution: assign, forward, answer, join, close, extend.

Each action locks the petition, checks that the clerk works for the institution that has it now,
applies the rule, announces what changed and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from mai_chassis import UnitOfWork
from mai_chassis.auth import Principal
from sqlalchemy import select

from .. import domain
from ..deps import PetitionDeps
from ..domain import Closure, Status
from ..errors import RepeatOfAnotherPetitioner, RepeatOfUnanswered, UnknownInstitution
from ..events import PetitionAnswered, PetitionClosed, PetitionDeadlineExtended, PetitionForwarded, Recipient
from ..tables import Petition
from .access import find_by_number, petition_of_clerk, record_clerk_action, require_clerk_of

__all__ = [
    "AnswerPetition",
    "AssignPetition",
    "ClosePetition",
    "ExtendDeadline",
    "ForwardPetition",
    "JoinPetitions",
    "answer_petition",
    "assign_petition",
    "close_petition",
    "extend_deadline",
    "forward_petition",
    "join_petitions",
]


@dataclass(frozen=True)
class AssignPetition:
    registration_number: str
    clerk: Principal
    #: A staff account id; the acting clerk when None.
    assignee: str | None = None


@dataclass(frozen=True)
class ForwardPetition:
    registration_number: str
    clerk: Principal
    to_institution: str


@dataclass(frozen=True)
class AnswerPetition:
    registration_number: str
    clerk: Principal
    text: str


@dataclass(frozen=True)
class JoinPetitions:
    registration_number: str
    clerk: Principal
    #: The petitions answered together with this one.
    registration_numbers: tuple[str, ...]


@dataclass(frozen=True)
class ClosePetition:
    registration_number: str
    clerk: Principal
    outcome: Closure
    #: For a repeat: the answered petition it repeats.
    repeat_of: str | None = None


@dataclass(frozen=True)
class ExtendDeadline:
    registration_number: str
    clerk: Principal
    days: int
    reason: str


def assign_petition(uow: UnitOfWork, deps: PetitionDeps, command: AssignPetition) -> Petition:
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    domain.require_open(Status(petition.status), "assigned")
    petition.assignee = command.assignee or command.clerk.subject
    petition.assigned_at = uow.clock.now()
    petition.status = Status.IN_PROGRESS.value
    record_clerk_action(uow, command.clerk, "petition.assign", petition)
    uow.commit()
    return petition


def forward_petition(uow: UnitOfWork, deps: PetitionDeps, command: ForwardPetition) -> Petition:
    """Send a petition to the competent institution; its 30 days start again there; the petitioner is told."""
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    to_institution = command.to_institution
    if deps.directory.institution(to_institution) is None:
        raise UnknownInstitution()
    domain.require_can_forward(Status(petition.status), petition.institution, to_institution)
    forwarded_at = uow.clock.now()
    in_time = not domain.forwarded_late(forwarded_at, petition.forward_due_on)
    petition.forwarded_from, petition.institution = petition.institution, to_institution
    petition.forwarded_at = forwarded_at
    petition.forwarded_late = petition.forwarded_late or not in_time
    petition.status, petition.assignee, petition.assigned_at = Status.REGISTERED.value, None, None
    petition.answer_due_on = domain.answer_due_on(forwarded_at)
    petition.deadline_extended, petition.extension_reason = False, None
    record_clerk_action(uow, command.clerk, "petition.forward", petition, unit=petition.forwarded_from)
    uow.publish(
        PetitionForwarded(
            petition_id=petition.id,
            registration_number=petition.registration_number,
            field=petition.field,
            kind=petition.kind,
            registered_at=petition.registered_at,
            from_institution=petition.forwarded_from,
            to_institution=to_institution,
            forwarded_at=forwarded_at,
            forwarded_within_deadline=in_time,
            answer_due_on=petition.answer_due_on,
            recipient=Recipient.of(petition),
        )
    )
    uow.commit()
    return petition


def answer_petition(uow: UnitOfWork, deps: PetitionDeps, command: AnswerPetition) -> Petition:
    """Send the answer (it covers every petition joined to this one) and close the file."""
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    domain.require_open(Status(petition.status), "answered")
    answered_at = uow.clock.now()
    joined = uow.session.scalars(select(Petition).where(Petition.joined_to_id == petition.id)).all()
    petition.answer, petition.answered_at, petition.answered_by = command.text, answered_at, command.clerk.subject
    petition.status, petition.closure, petition.closed_at = Status.ANSWERED.value, Closure.ANSWERED.value, answered_at
    record_clerk_action(uow, command.clerk, "petition.answer", petition)
    uow.publish(
        PetitionAnswered(
            petition_id=petition.id,
            registration_number=petition.registration_number,
            institution=petition.institution,
            field=petition.field,
            kind=petition.kind,
            registered_at=petition.registered_at,
            answer_due_on=petition.answer_due_on,
            answered_at=answered_at,
            within_deadline=domain.within_deadline(answered_at, petition.answer_due_on),
            answer=command.text,
            recipient=Recipient.of(petition),
            joined_petition_ids=tuple(other.id for other in joined) or None,
            joined_registration_numbers=tuple(other.registration_number for other in joined) or None,
        )
    )
    uow.publish(PetitionClosed.of(petition, at=answered_at))
    uow.commit()
    return petition


def join_petitions(uow: UnitOfWork, deps: PetitionDeps, command: JoinPetitions) -> Petition:
    """Join other petitions of the same petitioner on the same problem to this one: one answer for all."""
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    # Locked in one order (by number), so that two joins of overlapping petitions cannot deadlock.
    wanted = sorted({number.strip().upper() for number in command.registration_numbers})
    others = [find_by_number(uow.session, number, for_update=True) for number in wanted]

    def candidate(row: Petition) -> domain.JoinCandidate:
        return domain.JoinCandidate(
            row.id, row.registration_number, row.institution, row.petitioner_key, Status(row.status)
        )

    domain.require_can_join(candidate(petition), [candidate(other) for other in others])
    joined_at = uow.clock.now()
    record_clerk_action(uow, command.clerk, "petition.join", petition)
    for other in others:
        other.status, other.closure, other.closed_at = Status.CLOSED.value, Closure.JOINED.value, joined_at
        other.joined_to_id = petition.id
        # The joint answer is due by the earliest deadline of the petitions it covers.
        petition.answer_due_on = min(petition.answer_due_on, other.answer_due_on)
        uow.publish(PetitionClosed.of(other, at=joined_at, related=petition))
    uow.commit()
    return petition


def close_petition(uow: UnitOfWork, deps: PetitionDeps, command: ClosePetition) -> Petition:
    """Close a file without an answer of its own: a repeat of an answered petition, withdrawn, or noted."""
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    original = find_by_number(uow.session, command.repeat_of) if command.repeat_of else None
    if original is not None:
        require_clerk_of(command.clerk, original.institution)  # another institution's petitions are not theirs to read
    domain.require_can_close(Status(petition.status), command.outcome, kind=petition.kind)
    if command.outcome is Closure.REPEAT:
        if original is None or original.status != Status.ANSWERED.value:
            raise RepeatOfUnanswered()
        if original.petitioner_key != petition.petitioner_key or original.id == petition.id:
            raise RepeatOfAnotherPetitioner()
        petition.repeat_of_id = original.id
    closed_at = uow.clock.now()
    petition.status, petition.closure, petition.closed_at = Status.CLOSED.value, command.outcome.value, closed_at
    record_clerk_action(uow, command.clerk, "petition.close", petition)
    uow.publish(PetitionClosed.of(petition, at=closed_at, related=original))
    uow.commit()
    return petition


def extend_deadline(uow: UnitOfWork, deps: PetitionDeps, command: ExtendDeadline) -> Petition:
    """Extend the answer deadline once, with a reason; the petitioner is told the new date and why."""
    petition = petition_of_clerk(uow.session, command.registration_number, command.clerk, for_update=True)
    domain.require_open(Status(petition.status), "extended")
    previous = petition.answer_due_on
    petition.answer_due_on = domain.extended_due_on(previous, command.days, already_extended=petition.deadline_extended)
    petition.deadline_extended, petition.extension_reason = True, command.reason
    record_clerk_action(uow, command.clerk, "petition.extend", petition)
    uow.publish(
        PetitionDeadlineExtended(
            petition_id=petition.id,
            registration_number=petition.registration_number,
            institution=petition.institution,
            field=petition.field,
            kind=petition.kind,
            registered_at=petition.registered_at,
            previous_answer_due_on=previous,
            answer_due_on=petition.answer_due_on,
            extension_days=command.days,
            reason=command.reason,
            extended_at=uow.clock.now(),
            recipient=Recipient.of(petition),
        )
    )
    uow.commit()
    return petition
