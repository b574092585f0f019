"""Deadline reminders for the assigned clerks, and what petitioners, citizens and clerks can read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from mai_chassis import FixedClock
from mai_chassis.auth import Principal
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.deps import PetitionDeps
from petition.errors import NotYourInstitution, PetitionNotFound
from petition.events import PetitionDeadlineReminderIssued
from petition.handlers import (
    AssignPetition,
    CitizensPetitions,
    ClerksQueue,
    RemindDeadlines,
    Sender,
    StaffStatusLookup,
    StatusLookup,
    assign_petition,
    list_citizens_petitions,
    look_up_status,
    read_queue,
    read_status_for_staff,
    remind_deadlines,
)
from petition.tables import Petition

from .conftest import clerk_of

pytestmark = pytest.mark.unit

CLERK = clerk_of("IGPR")
REMIND = RemindDeadlines(working_days=3)


def morning(day: int) -> datetime:
    return datetime(2026, 11, day, 6, 0, tzinfo=UTC)


def test_the_assigned_clerk_is_reminded_three_working_days_before_the_deadline_once(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    submit(subject="Nimeni nu lucrează la ea")  # unassigned: nobody to remind
    assign_petition(uow, deps, AssignPetition(number, CLERK))
    clock.set(morning(16))  # Monday: four working days before Friday 20 November
    assert remind_deadlines(uow, deps, REMIND) == []
    clock.set(morning(17))
    assert [p.registration_number for p in remind_deadlines(uow, deps, REMIND)] == [number]
    assert remind_deadlines(uow, deps, REMIND) == []
    [reminder] = uow.events_of(PetitionDeadlineReminderIssued)
    assert (reminder.assignee, reminder.working_days_left) == ("clerk-1", 3)
    assert "recipient" not in uow.published[-1].data  # the clerk's reminder carries no petitioner data


def test_the_petitioner_reads_the_status_only_with_the_address_they_wrote_from(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    found = look_up_status(uow, deps, StatusLookup(number.lower(), " Ana.Popescu@example.ro "))
    assert found.registration_number == number
    for wrong in (StatusLookup(number, "ion@example.ro"), StatusLookup("IGPR-2026-999999", "ana.popescu@example.ro")):
        with pytest.raises(PetitionNotFound):
            look_up_status(uow, deps, wrong)


def test_a_citizen_lists_the_petitions_sent_while_signed_in_newest_first(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    citizen = Sender(client_address=None, account_id="7d1f0e4b-2c54-4bd3-9d0c-3f5a3b2a9e11", account_kind="citizen")
    first = submit(sender=citizen).registration_number
    submit(subject="Anonimă")
    clock.advance(timedelta(hours=1))
    second = submit(subject="A doua", sender=citizen).registration_number
    own = list_citizens_petitions(uow, deps, CitizensPetitions(citizen.account_id or ""))
    assert [p.registration_number for p in own] == [second, first]


def test_the_phone_line_reads_any_status_by_number_and_other_staff_only_their_institutions(
    uow: FakeUnitOfWork, deps: PetitionDeps, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    operator = Principal(subject="op-1", kind="staff", roles=frozenset({("phone_operator", "*")}))
    assert read_status_for_staff(uow, deps, StaffStatusLookup(number, operator)).registration_number == number
    with pytest.raises(NotYourInstitution):
        read_status_for_staff(uow, deps, StaffStatusLookup(number, clerk_of("IGSU")))


def test_the_overdue_queue_counts_from_the_clocks_day_in_romania(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    number = submit().registration_number
    overdue = ClerksQueue(clerk=CLERK, institution="IGPR", page=1, page_size=10, overdue=True)
    clock.set(datetime(2026, 11, 20, 21, 59, tzinfo=UTC))  # 23:59 on the due day in Bucharest
    assert read_queue(uow, deps, overdue).total == 0
    clock.advance(timedelta(minutes=2))
    page = read_queue(uow, deps, overdue)
    assert ([p.registration_number for p in page.items], page.total) == ([number], 1)
    with pytest.raises(NotYourInstitution):
        read_queue(uow, deps, ClerksQueue(clerk=clerk_of("IGSU"), institution="IGPR", page=1, page_size=10))
