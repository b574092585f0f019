"""What petition-svc announces: one past-tense event per fact, each checked against ``contracts/``.

The petition's id is every event's subject and Kafka key, so one petition's events keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

import mai_chassis
from mai_chassis import DomainEvent

from .tables import Petition

__all__ = [
    "PetitionAnswered",
    "PetitionClosed",
    "PetitionDeadlineExtended",
    "PetitionDeadlineReminderIssued",
    "PetitionForwarded",
    "PetitionSubmitted",
    "Recipient",
]


@dataclass(frozen=True)
class Recipient(mai_chassis.Recipient):
    """Whom notify-svc mails about the petition, in which language."""

    @classmethod
    def of(cls, petition: Petition) -> Recipient | None:
        """The petitioner's; None when they gave no e-mail address (a paper petition answered by post)."""
        if not petition.petitioner_email:
            return None
        return cls(email=petition.petitioner_email, name=petition.petitioner_name, language=petition.language)


@dataclass(frozen=True, kw_only=True)
class _PetitionEvent(DomainEvent):
    """The facts every petition event repeats, so that a consumer needs no other event to act."""

    subject_field: ClassVar[str] = "petition_id"

    petition_id: str
    registration_number: str
    field: str
    kind: str
    registered_at: datetime


@dataclass(frozen=True, kw_only=True)
class PetitionSubmitted(_PetitionEvent):
    """A petition was registered with its number and answer deadline; the petitioner is mailed the number."""

    type: ClassVar[str] = "ro.mai.petition.submitted.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset(
        {"citizen_id", "repeat_of_registration_number", "received_on", "recipient"}
    )

    institution: str
    channel: str
    attachment_count: int
    answer_due_on: date
    #: None when the petitioner gave no e-mail address: nothing is mailed, a receipt is printed.
    recipient: Recipient | None
    citizen_id: str | None = None
    repeat_of_registration_number: str | None = None
    #: Received by post, e-mail or at a counter: the day it reached the institution.
    received_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class PetitionForwarded(_PetitionEvent):
    """A petition was sent on to the competent institution, where its 30 days start again."""

    type: ClassVar[str] = "ro.mai.petition.forwarded.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"recipient"})

    from_institution: str
    to_institution: str
    forwarded_at: datetime
    forwarded_within_deadline: bool
    answer_due_on: date
    recipient: Recipient | None


@dataclass(frozen=True, kw_only=True)
class PetitionAnswered(_PetitionEvent):
    """The answer was sent; it covers the petitions joined to this one."""

    type: ClassVar[str] = "ro.mai.petition.answered.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset(
        {"joined_petition_ids", "joined_registration_numbers", "recipient"}
    )

    institution: str
    answer_due_on: date
    answered_at: datetime
    within_deadline: bool
    answer: str
    recipient: Recipient | None
    joined_petition_ids: tuple[str, ...] | None = None
    joined_registration_numbers: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class PetitionClosed(_PetitionEvent):
    """A petition's file was closed: answered, joined to another, a repeat, withdrawn or noted."""

    type: ClassVar[str] = "ro.mai.petition.closed.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"related_petition_id"})

    institution: str
    outcome: str
    closed_at: datetime
    related_petition_id: str | None = None

    @classmethod
    def of(cls, petition: Petition, *, at: datetime, related: Petition | None = None) -> PetitionClosed:
        """``petition``, its closure set, closed at ``at``; ``related``: the petition it joins or repeats."""
        if petition.closure is None:
            raise ValueError("a petition's closure is set before its closing is announced")
        return cls(
            petition_id=petition.id,
            registration_number=petition.registration_number,
            institution=petition.institution,
            field=petition.field,
            kind=petition.kind,
            registered_at=petition.registered_at,
            outcome=petition.closure,
            closed_at=at,
            related_petition_id=related.id if related is not None else None,
        )


@dataclass(frozen=True, kw_only=True)
class PetitionDeadlineExtended(_PetitionEvent):
    """The answer deadline was extended once, with a reason the petitioner is told."""

    type: ClassVar[str] = "ro.mai.petition.deadline_extended.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"recipient"})

    institution: str
    previous_answer_due_on: date
    answer_due_on: date
    extension_days: int
    reason: str
    extended_at: datetime
    recipient: Recipient | None


@dataclass(frozen=True, kw_only=True)
class PetitionDeadlineReminderIssued(_PetitionEvent):
    """The assigned clerk is reminded of an answer deadline a few working days away (no petitioner data)."""

    type: ClassVar[str] = "ro.mai.petition.deadline_reminder_issued.v1"

    institution: str
    answer_due_on: date
    deadline_extended: bool
    working_days_left: int
    assignee: str
    reminded_at: datetime
