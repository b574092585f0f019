"""Reminding the assigned clerks of answer deadlines a few working days away."""

from __future__ import annotations

from dataclasses import dataclass

from mai_chassis import UnitOfWork
from sqlalchemy import select

from .. import domain
from ..deps import PetitionDeps
from ..domain import Status
from ..events import PetitionDeadlineReminderIssued
from ..tables import Petition

__all__ = ["RemindDeadlines", "remind_deadlines"]


@dataclass(frozen=True)
class RemindDeadlines:
    #: Reminded this many working days before the deadline.
    working_days: int
    #: At most this many petitions in one transaction; the job runs batches until none is left.
    batch_size: int = 200


def remind_deadlines(uow: UnitOfWork, deps: PetitionDeps, command: RemindDeadlines) -> list[Petition]:
    """Remind the assigned clerks of one batch of answer deadlines ``working_days`` working days away.

    One reminder per petition and deadline: the deadline reminded of is kept on the petition, so a
    second run finds nothing new, and an extension or a forward (a new deadline) brings a new one.
    Rows another run has locked are skipped, so several runs at once never remind twice.
    """
    reminded_at = uow.clock.now()
    today = domain.local_date(reminded_at)
    statement = (
        select(Petition)
        .where(
            Petition.status.in_([Status.REGISTERED.value, Status.IN_PROGRESS.value]),
            Petition.assignee.is_not(None),
            Petition.answer_due_on >= today,
            Petition.answer_due_on <= domain.latest_deadline_to_remind(today, command.working_days),
            Petition.reminded_for_due_on.is_(None) | (Petition.reminded_for_due_on != Petition.answer_due_on),
        )
        .order_by(Petition.answer_due_on, Petition.id)
        .limit(command.batch_size)
        .with_for_update(skip_locked=True)
    )
    petitions = list(uow.session.scalars(statement).all())
    for petition in petitions:
        assert petition.assignee is not None  # selected for having one
        petition.reminded_for_due_on = petition.answer_due_on
        uow.publish(
            PetitionDeadlineReminderIssued(
                petition_id=petition.id,
                registration_number=petition.registration_number,
                institution=petition.institution,
                field=petition.field,
                kind=petition.kind,
                registered_at=petition.registered_at,
                answer_due_on=petition.answer_due_on,
                deadline_extended=petition.deadline_extended,
                working_days_left=domain.working_days_left(today, petition.answer_due_on),
                assignee=petition.assignee,
                reminded_at=reminded_at,
            )
        )
    uow.commit()
    return petitions
