"""A clerk's actions on the petitions of their institution, and on no other's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from mai_chassis import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.deps import PetitionDeps
from petition.domain import Closure
from petition.errors import (
    DeadlineAlreadyExtended,
    JoinOfAnotherPetitioner,
    NotYourInstitution,
    PetitionNotFound,
    PetitionNotOpen,
    RepeatOfUnanswered,
    UnknownInstitution,
)
from petition.events import (
    PetitionAnswered,
    PetitionClosed,
    PetitionDeadlineExtended,
    PetitionForwarded,
)
from petition.handlers import (
    AnswerPetition,
    AssignPetition,
    ClosePetition,
    ExtendDeadline,
    ForwardPetition,
    JoinPetitions,
    answer_petition,
    assign_petition,
    close_petition,
    extend_deadline,
    forward_petition,
    join_petitions,
)
from petition.tables import Petition

from .conftest import clerk_of

pytestmark = pytest.mark.unit

CLERK = clerk_of("IGPR")


def test_an_assigned_petition_is_in_progress_with_the_clerk_who_took_it(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    petition = assign_petition(uow, deps, AssignPetition(number, CLERK))
    assert (petition.status, petition.assignee, petition.assigned_at) == ("in_progress", "clerk-1", uow.clock.now())
    assert uow.commits == 2


def test_a_clerk_of_another_institution_can_do_nothing_with_the_petition(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    with pytest.raises(NotYourInstitution):
        assign_petition(uow, deps, AssignPetition(number, clerk_of("IGSU")))
    with pytest.raises(NotYourInstitution):
        answer_petition(uow, deps, AnswerPetition(number, clerk_of("IGSU"), "Răspuns"))
    assert uow.commits == 1  # the submission only


def test_an_unknown_number_is_not_found(uow: FakeUnitOfWork, deps: PetitionDeps) -> None:
    with pytest.raises(PetitionNotFound):
        assign_petition(uow, deps, AssignPetition("IGPR-2026-999999", CLERK))


def test_a_forward_within_five_days_restarts_the_thirty_days_at_the_competent_institution(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    clock.advance(timedelta(days=2))  # Friday 23 October
    petition = forward_petition(uow, deps, ForwardPetition(number, CLERK, "IGSU"))
    assert (petition.institution, petition.forwarded_from, petition.forwarded_late) == ("IGSU", "IGPR", False)
    assert petition.answer_due_on == date(2026, 11, 23)  # 22 November is a Sunday
    [forwarded] = uow.events_of(PetitionForwarded)
    assert forwarded.forwarded_within_deadline and forwarded.answer_due_on == date(2026, 11, 23)
    with pytest.raises(NotYourInstitution):  # it is IGSU's now
        assign_petition(uow, deps, AssignPetition(number, CLERK))


def test_a_forward_after_five_days_is_flagged_late_for_good(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    clock.advance(timedelta(days=6))  # Tuesday 27 October: the forward was due on Monday
    petition = forward_petition(uow, deps, ForwardPetition(number, CLERK, "IGSU"))
    assert petition.forwarded_late
    assert not uow.events_of(PetitionForwarded)[0].forwarded_within_deadline


def test_a_forward_to_an_institution_missing_from_the_directory_is_refused(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    with pytest.raises(UnknownInstitution):
        forward_petition(uow, deps, ForwardPetition(number, CLERK, "NOPE"))
    uow.rollback()
    assert uow.published_types == ["ro.mai.petition.submitted.v1"]


def test_one_answer_covers_the_joined_petitions_and_closes_every_file(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    main = submit().registration_number
    clock.advance(timedelta(days=3))
    other = submit(subject="Același semafor, din nou").registration_number
    joined = join_petitions(uow, deps, JoinPetitions(main, CLERK, (other.lower(),)))
    assert joined.answer_due_on == date(2026, 11, 20)  # the earlier of the two deadlines
    clock.advance(timedelta(days=1))
    answered = answer_petition(uow, deps, AnswerPetition(main, CLERK, "Semaforul a fost reparat."))
    assert (answered.status, answered.closure, answered.answered_by) == ("answered", "answered", "clerk-1")
    [answer] = uow.events_of(PetitionAnswered)
    assert answer.joined_registration_numbers == (other,) and answer.within_deadline
    closed = uow.events_of(PetitionClosed)
    assert [(event.registration_number, event.outcome) for event in closed] == [(other, "joined"), (main, "answered")]
    with pytest.raises(PetitionNotOpen, match="answered cannot be answered"):
        answer_petition(uow, deps, AnswerPetition(main, CLERK, "Încă o dată"))


def test_only_one_petitioners_petitions_are_joined(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    main = submit().registration_number
    other = submit(email="ion.ionescu@example.ro").registration_number
    with pytest.raises(JoinOfAnotherPetitioner):
        join_petitions(uow, deps, JoinPetitions(main, CLERK, (other,)))


def test_a_repeat_refers_to_an_answered_petition(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    first = submit().registration_number
    second = submit(subject="Aceeași problemă").registration_number
    with pytest.raises(RepeatOfUnanswered):
        close_petition(uow, deps, ClosePetition(second, CLERK, Closure.REPEAT, repeat_of=first))
    uow.rollback()
    original = answer_petition(uow, deps, AnswerPetition(first, CLERK, "Răspuns."))
    closed = close_petition(uow, deps, ClosePetition(second, CLERK, Closure.REPEAT, repeat_of=first))
    assert (closed.status, closed.closure, closed.repeat_of_id) == ("closed", "repeat", original.id)
    assert uow.events_of(PetitionClosed)[-1].related_petition_id == original.id


def test_the_deadline_is_extended_once_and_the_petitioner_told_why(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    petition = extend_deadline(uow, deps, ExtendDeadline(number, CLERK, days=15, reason="Verificări la fața locului"))
    assert (petition.answer_due_on, petition.deadline_extended) == (date(2026, 12, 7), True)  # 5 Dec is a Saturday
    [extended] = uow.events_of(PetitionDeadlineExtended)
    assert (extended.previous_answer_due_on, extended.reason) == (date(2026, 11, 20), "Verificări la fața locului")
    with pytest.raises(DeadlineAlreadyExtended):
        extend_deadline(uow, deps, ExtendDeadline(number, CLERK, days=1, reason="Încă o dată"))
