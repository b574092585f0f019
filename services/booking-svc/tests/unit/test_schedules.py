"""Office managers: opening hours, counters per slot type, closures, and the slots generated from them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from booking import errors, handlers
from booking.domain import OFFICE_TIME_ZONE, Officer
from booking.events import AppointmentCancelled, AppointmentMoved
from booking.slot_horizon import load_schedules, reconcile_slots
from booking.tables import Application, Appointment, OfficeSchedule, OpeningHours, Slot, SlotCapacity
from sqlalchemy import func, select

pytestmark = pytest.mark.unit

OFFICE = "IGI-CJ"  # four counters
MANAGER = Officer("manager-cj", frozenset({OFFICE}))
WEEKDAYS_0830_1030 = {day: ["08:30-10:30"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}


@pytest.fixture
def office(uow: Any) -> str:
    """IGI-CJ with the schedule migration 0002 seeds: no hours yet, every counter serving visits."""
    uow.session.add(OfficeSchedule(office=OFFICE, slot_minutes=20, updated_at=datetime(2025, 3, 1, tzinfo=UTC)))
    uow.session.flush()
    uow.session.add(SlotCapacity(office=OFFICE, slot_type="visit", counters=4))
    uow.commit()
    return OFFICE


def at(day: date, clock_time: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock_time), OFFICE_TIME_ZONE)


def slots_on(uow: Any, day: date) -> list[Slot]:
    return list(
        uow.session.scalars(
            select(Slot)
            .where(Slot.office == OFFICE, Slot.starts_at >= at(day, "00:00"), Slot.starts_at < at(day, "23:59"))
            .order_by(Slot.starts_at, Slot.counter)
        )
    )


def reconcile(uow: Any, deps: Any, first: date, last: date) -> Any:
    schedule = load_schedules(uow.session, deps.catalog, [OFFICE], from_day=first)[OFFICE]
    result = reconcile_slots(uow.session, schedule, first, last, now=uow.clock.now())
    uow.commit()
    return result


def open_weekday_mornings(uow: Any, deps: Any) -> handlers.OfficeView:
    return handlers.set_opening_hours(uow, deps, handlers.SetOpeningHours(OFFICE, MANAGER, WEEKDAYS_0830_1030))


def book(uow: Any, deps: Any, desk: Any, slot: Slot) -> tuple[str, Appointment]:
    citizen_id, application_id = desk.accepted()
    appointment = handlers.book_appointment(uow, deps, handlers.BookAppointment(application_id, citizen_id, slot.id))
    return application_id, appointment


# --- hours, capacity and generation -------------------------------------------------------------------------


def test_opening_hours_generate_the_weeks_ahead_at_once_skipping_weekends_and_public_holidays(
    uow: Any, deps: Any, office: str, clock: Any
) -> None:
    clock.set(datetime(2025, 4, 14, 9, 0, tzinfo=UTC))  # Monday before Orthodox Easter (Good Friday 18 April)
    commits = uow.commits

    view = open_weekday_mornings(uow, deps)

    assert uow.commits == commits + 1
    assert view.slots_created == len(uow.session.scalars(select(Slot)).all()) > 0
    assert len(slots_on(uow, date(2025, 4, 15))) == 6 * 4  # six 20-minute steps, four counters
    for closed in (date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 1), date(2025, 4, 19), date(2025, 4, 20)):
        assert slots_on(uow, closed) == [], closed
    assert date(2025, 4, 18) in view.public_holidays and date(2025, 6, 1) in view.public_holidays
    assert view.schedule.opening_hours["monday"][0].opens == time(8, 30)
    assert uow.session.get(OfficeSchedule, OFFICE).updated_by == "manager-cj"


def test_generating_twice_adds_nothing(uow: Any, deps: Any, office: str) -> None:
    open_weekday_mornings(uow, deps)
    count = uow.session.scalar(select(func.count()).select_from(Slot))

    again = reconcile(uow, deps, date(2025, 3, 14), date(2025, 5, 8))

    assert (again.created, again.withdrawn) == (0, 0)
    assert uow.session.scalar(select(func.count()).select_from(Slot)) == count


def test_a_smaller_capacity_withdraws_the_free_slots_of_the_counters_taken_off_but_keeps_booked_ones(
    uow: Any, deps: Any, desk: Any, office: str
) -> None:
    open_weekday_mornings(uow, deps)
    tuesday = date(2025, 3, 18)
    on_counter_3 = next(s for s in slots_on(uow, tuesday) if s.counter == "3")
    _, appointment = book(uow, deps, desk, on_counter_3)

    view = handlers.set_capacity(uow, deps, handlers.SetCapacity(OFFICE, MANAGER, {"visit": 2}))

    assert view.schedule.capacity == {"visit": 2}
    assert view.slots_withdrawn > 0 and view.slots_created == 0
    remaining = slots_on(uow, tuesday)
    assert {s.counter for s in remaining if not s.is_booked} == {"1", "2"}
    assert [s.id for s in remaining if s.counter == "3"] == [on_counter_3.id]  # the booked one stays
    assert uow.session.get(Appointment, appointment.id).status == "booked"


def test_shorter_hours_withdraw_the_free_slots_outside_them(uow: Any, deps: Any, office: str) -> None:
    open_weekday_mornings(uow, deps)
    hours = {**WEEKDAYS_0830_1030, "wednesday": ["09:30-10:30"], "friday": []}

    handlers.set_opening_hours(uow, deps, handlers.SetOpeningHours(OFFICE, MANAGER, hours))

    assert slots_on(uow, date(2025, 3, 19))[0].starts_at.astimezone(OFFICE_TIME_ZONE).time() == time(9, 30)
    assert len(slots_on(uow, date(2025, 3, 19))) == 3 * 4
    assert slots_on(uow, date(2025, 3, 21)) == []
    assert uow.session.scalar(select(func.count()).select_from(OpeningHours).where(OpeningHours.weekday == 4)) == 0


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"moonday": ["08:30-12:30"]}, "not a weekday"),
        ({"monday": ["12:30-08:30"]}, "closes before it opens"),
        ({"monday": ["08:30-12:30", "12:00-14:00"]}, "overlap"),
        ({"monday": ["8.30-12"]}, "HH:MM-HH:MM"),
    ],
)
def test_opening_hours_that_make_no_sense_are_refused_and_nothing_changes(
    uow: Any, deps: Any, office: str, hours: dict[str, list[str]], message: str
) -> None:
    commits = uow.commits
    with pytest.raises(errors.InvalidOpeningHours, match=message):
        handlers.set_opening_hours(uow, deps, handlers.SetOpeningHours(OFFICE, MANAGER, hours))
    uow.rollback()
    assert uow.commits == commits


def test_capacity_cannot_exceed_the_office_counters_nor_name_an_unknown_slot_type(
    uow: Any, deps: Any, office: str
) -> None:
    with pytest.raises(errors.InvalidCapacity, match="4 counters"):
        handlers.set_capacity(uow, deps, handlers.SetCapacity(OFFICE, MANAGER, {"visit": 5}))
    uow.rollback()
    with pytest.raises(errors.InvalidCapacity, match="Unknown slot type"):
        handlers.set_capacity(uow, deps, handlers.SetCapacity(OFFICE, MANAGER, {"lunch": 1}))
    uow.rollback()
    assert uow.session.get(SlotCapacity, (OFFICE, "visit")).counters == 4


def test_another_office_manager_sees_and_changes_nothing(uow: Any, deps: Any, office: str) -> None:
    bucharest = Officer("manager-b", frozenset({"IGI-B"}))
    with pytest.raises(errors.NotFound):
        handlers.show_schedule(uow, deps, handlers.ShowSchedule(OFFICE, bucharest))
    with pytest.raises(errors.NotFound):
        handlers.set_opening_hours(uow, deps, handlers.SetOpeningHours(OFFICE, bucharest, WEEKDAYS_0830_1030))
    with pytest.raises(errors.NotFound):
        handlers.close_office(
            uow, deps, handlers.CloseOffice(OFFICE, bucharest, date(2025, 3, 18), date(2025, 3, 18), "Flood")
        )
    uow.rollback()
    assert uow.session.scalar(select(func.count()).select_from(Slot)) == 0


# --- closures -------------------------------------------------------------------------------------------------


def test_a_closure_moves_each_appointment_to_the_nearest_later_free_slot_of_the_same_type(
    uow: Any, deps: Any, desk: Any, office: str
) -> None:
    open_weekday_mornings(uow, deps)
    tuesday, wednesday = date(2025, 3, 18), date(2025, 3, 19)
    first_application, first = book(uow, deps, desk, slots_on(uow, tuesday)[0])
    _, second = book(uow, deps, desk, slots_on(uow, tuesday)[5])
    taken_on_wednesday = slots_on(uow, wednesday)[0]
    book(uow, deps, desk, taken_on_wednesday)  # someone else's: not offered to the moved appointments
    published = len(uow.published)

    outcome = handlers.close_office(
        uow, deps, handlers.CloseOffice(OFFICE, MANAGER, tuesday, tuesday, "Power cut in the building")
    )

    assert [m.previous.id for m in outcome.moved] == [first.id, second.id] and outcome.cancelled == []
    expected = [s for s in slots_on(uow, wednesday) if s.id != taken_on_wednesday.id][:2]
    assert [m.appointment.slot_id for m in outcome.moved] == [s.id for s in expected]
    assert all(s.is_booked for s in expected)
    assert (outcome.closure.moved, outcome.closure.cancelled, outcome.closure.reason) == (
        2,
        0,
        "Power cut in the building",
    )
    assert slots_on(uow, tuesday) == []  # the closed day offers nothing any more
    uow.session.expire_all()
    old = uow.session.get(Appointment, first.id)
    assert (old.status, old.cancelled_by, old.cancel_reason, old.slot_id) == (
        "cancelled",
        "office",
        "office_closed",
        None,
    )
    assert uow.session.get(Application, first_application).status == "appointment_booked"
    moved = uow.events_of(AppointmentMoved)
    assert len(uow.published) == published + 2 and len(moved) == 2
    assert (moved[0].previous_appointment_id, moved[0].appointment_id) == (first.id, outcome.moved[0].appointment.id)
    assert moved[0].previous_starts_at.isoformat() == "2025-03-18T08:30:00+02:00"
    assert moved[0].starts_at == at(wednesday, "08:30") and moved[0].counter == expected[0].counter
    assert moved[0].recipient.email == "ana.popescu@example.ro"


def test_a_preview_says_which_appointments_a_closure_would_move_and_where_and_changes_nothing(
    uow: Any, deps: Any, desk: Any, office: str
) -> None:
    open_weekday_mornings(uow, deps)
    tuesday, wednesday, last_day = date(2025, 3, 18), date(2025, 3, 19), date(2025, 5, 8)
    _, first = book(uow, deps, desk, slots_on(uow, tuesday)[0])
    taken_on_wednesday = slots_on(uow, wednesday)[0]
    book(uow, deps, desk, taken_on_wednesday)
    _, stranded = book(uow, deps, desk, slots_on(uow, last_day)[0])
    commits, published = uow.commits, len(uow.published)

    tuesday_only = handlers.preview_closure(uow, deps, handlers.PreviewClosure(OFFICE, MANAGER, tuesday, tuesday))
    last = handlers.preview_closure(uow, deps, handlers.PreviewClosure(OFFICE, MANAGER, last_day, last_day))

    expected = next(s for s in slots_on(uow, wednesday) if s.id != taken_on_wednesday.id)
    assert [(e.appointment.id, e.moves_to.id if e.moves_to else None) for e in tuesday_only.effects] == [
        (first.id, expected.id)
    ]
    assert (tuesday_only.moved, tuesday_only.cancelled) == (1, 0)
    assert [(e.appointment.id, e.moves_to) for e in last.effects] == [(stranded.id, None)] and last.cancelled == 1
    assert (uow.commits, len(uow.published)) == (commits, published)
    outcome = handlers.close_office(uow, deps, handlers.CloseOffice(OFFICE, MANAGER, tuesday, tuesday, "Power cut"))
    assert [m.appointment.slot_id for m in outcome.moved] == [expected.id], "the closure does what it previewed"


def test_a_closure_cancels_the_appointments_it_finds_no_later_slot_for(
    uow: Any, deps: Any, desk: Any, office: str
) -> None:
    open_weekday_mornings(uow, deps)
    last_day = date(2025, 5, 8)  # the last generated day (eight weeks from Friday 14 March)
    application_id, appointment = book(uow, deps, desk, slots_on(uow, last_day)[0])

    outcome = handlers.close_office(uow, deps, handlers.CloseOffice(OFFICE, MANAGER, last_day, last_day, "Inventory"))

    assert outcome.moved == [] and [a.id for a in outcome.cancelled] == [appointment.id]
    assert uow.session.get(Application, application_id).status == "documents_accepted"
    (event,) = uow.events_of(AppointmentCancelled)
    assert (event.appointment_id, event.cancelled_by, event.reason) == (appointment.id, "office", "office_closed")


def test_a_closed_range_is_not_generated_again(uow: Any, deps: Any, office: str) -> None:
    open_weekday_mornings(uow, deps)
    first, last = date(2025, 3, 24), date(2025, 3, 26)

    handlers.close_office(uow, deps, handlers.CloseOffice(OFFICE, MANAGER, first, last, "Renovation"))
    again = reconcile(uow, deps, date(2025, 3, 14), date(2025, 5, 8))

    assert again.created == 0
    assert [slots_on(uow, first + timedelta(days=n)) for n in range(3)] == [[], [], []]
    assert len(slots_on(uow, date(2025, 3, 27))) == 24
    closures = handlers.list_closures(uow, deps, handlers.ListClosures(OFFICE, MANAGER))
    assert [(c.first_day, c.last_day) for c in closures] == [(first, last)]
    (public,) = handlers.show_offices(uow, deps, handlers.ShowOffices([OFFICE]))
    assert public.closed_days == [first, date(2025, 3, 25), last]


@pytest.mark.parametrize(
    ("first", "last", "reason", "message"),
    [
        (date(2025, 3, 13), date(2025, 3, 13), "Flood", "in the past"),
        (date(2025, 3, 20), date(2025, 3, 19), "Flood", "before its first day"),
        (date(2025, 3, 20), date(2026, 3, 21), "Flood", "at most 366 days"),
        (date(2025, 3, 20), date(2025, 3, 20), "   ", "Say why"),
    ],
)
def test_a_closure_that_makes_no_sense_is_refused(
    uow: Any, deps: Any, office: str, first: date, last: date, reason: str, message: str
) -> None:
    with pytest.raises(errors.InvalidClosure, match=message):
        handlers.close_office(uow, deps, handlers.CloseOffice(OFFICE, MANAGER, first, last, reason))
