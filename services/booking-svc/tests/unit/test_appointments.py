"""Booking, cancelling and rescheduling a counter slot, and the e-mailed link that manages it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from booking import errors, handlers
from booking.domain import Officer
from booking.events import AppointmentBooked, AppointmentCancelled
from booking.tables import Application, Slot

pytestmark = pytest.mark.unit

MONDAY_0830 = datetime(2025, 3, 17, 6, 30, tzinfo=UTC)  # 08:30 in Bucharest


def test_booking_a_slot_takes_it_and_announces_the_appointment_in_office_time(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id = desk.accepted()
    (slot_id,) = desk.slots(MONDAY_0830)
    commits = uow.commits

    appointment = handlers.book_appointment(uow, deps, handlers.BookAppointment(application_id, citizen_id, slot_id))

    assert uow.commits == commits + 1
    assert uow.session.get(Slot, slot_id).is_booked
    assert uow.session.get(Application, application_id).status == "appointment_booked"
    (event,) = uow.events_of(AppointmentBooked)
    assert (event.appointment_id, event.application_id, event.counter) == (appointment.id, application_id, "1")
    assert event.starts_at.isoformat() == "2025-03-17T08:30:00+02:00"
    data = uow.published[-1].data
    assert data["starts_at"] == "2025-03-17T06:30:00Z"
    assert "rescheduled_from" not in data and "sealed_manage_link" not in data


def test_the_earliest_free_slot_is_booked_when_none_is_chosen(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id = desk.accepted()
    later, earlier = desk.slots(MONDAY_0830 + timedelta(hours=1), MONDAY_0830)

    appointment = handlers.book_appointment(uow, deps, handlers.BookAppointment(application_id, citizen_id))

    assert appointment.slot_id == earlier != later


def test_a_booked_slot_is_not_booked_again(uow: Any, deps: Any, desk: Any) -> None:
    _, _, first = desk.booked(slot_at=MONDAY_0830)
    citizen_id, application_id = desk.accepted()
    published = len(uow.published)

    with pytest.raises(errors.SlotTaken):
        handlers.book_appointment(uow, deps, handlers.BookAppointment(application_id, citizen_id, first.slot_id))
    uow.rollback()

    assert len(uow.published) == published
    assert uow.session.get(Application, application_id).status == "documents_accepted"


def test_booking_needs_accepted_documents_and_a_future_slot_at_the_right_office(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, submitted = desk.submitted()
    (future,) = desk.slots(MONDAY_0830)
    (past,) = desk.slots(desk.start - timedelta(hours=1))
    (elsewhere,) = desk.slots(MONDAY_0830, office="IGI-TM")
    accepted_citizen, accepted = desk.accepted()

    with pytest.raises(errors.DocumentsNotAccepted):
        handlers.book_appointment(uow, deps, handlers.BookAppointment(submitted, citizen_id, future))
    with pytest.raises(errors.SlotInThePast):
        handlers.book_appointment(uow, deps, handlers.BookAppointment(accepted, accepted_citizen, past))
    uow.rollback()
    with pytest.raises(errors.SlotAtAnotherOffice):
        handlers.book_appointment(uow, deps, handlers.BookAppointment(accepted, accepted_citizen, elsewhere))
    uow.rollback()
    with pytest.raises(errors.NotFound):
        handlers.book_appointment(uow, deps, handlers.BookAppointment(accepted, str(uuid.uuid4()), future))


def test_cancelling_frees_the_slot_and_reopens_booking(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id, appointment = desk.booked()
    commits = uow.commits

    cancelled = handlers.cancel_appointment(uow, deps, handlers.CancelAppointment(appointment.id, citizen_id))

    assert uow.commits == commits + 1
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "applicant_request")
    assert not uow.session.get(Slot, appointment.slot_id).is_booked
    assert uow.session.get(Application, application_id).status == "documents_accepted"
    (event,) = uow.events_of(AppointmentCancelled)
    assert (event.appointment_id, event.cancelled_by, event.reason) == (
        appointment.id,
        "applicant",
        "applicant_request",
    )


def test_a_started_appointment_can_no_longer_be_cancelled(uow: Any, deps: Any, desk: Any, clock: Any) -> None:
    citizen_id, _, appointment = desk.booked(slot_at=MONDAY_0830)
    clock.set(MONDAY_0830 + timedelta(minutes=1))

    with pytest.raises(errors.AppointmentStarted):
        handlers.cancel_appointment(uow, deps, handlers.CancelAppointment(appointment.id, citizen_id))


def test_rescheduling_moves_to_the_new_slot_in_one_transaction(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, _, appointment = desk.booked(slot_at=MONDAY_0830)
    (new_slot,) = desk.slots(MONDAY_0830 + timedelta(days=1))
    commits = uow.commits

    moved = handlers.reschedule_appointment(
        uow, deps, handlers.RescheduleAppointment(appointment.id, citizen_id, new_slot)
    )

    assert uow.commits == commits + 1
    assert (moved.slot_id, moved.rescheduled_from) == (new_slot, appointment.id)
    assert not uow.session.get(Slot, appointment.slot_id).is_booked
    assert uow.events_of(AppointmentCancelled)[-1].reason == "rescheduled"
    assert uow.events_of(AppointmentBooked)[-1].rescheduled_from == appointment.id
    assert uow.published[-1].data["rescheduled_from"] == appointment.id


def test_a_lost_race_for_the_new_slot_keeps_the_old_appointment(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, _, appointment = desk.booked(slot_at=MONDAY_0830)
    _, _, other = desk.booked(slot_at=MONDAY_0830 + timedelta(days=1))

    with pytest.raises(errors.SlotTaken):
        handlers.reschedule_appointment(
            uow, deps, handlers.RescheduleAppointment(appointment.id, citizen_id, other.slot_id)
        )
    uow.rollback()

    assert uow.session.get(Slot, appointment.slot_id).is_booked
    shown = handlers.show_appointment(uow, deps, handlers.ShowAppointment(appointment.id, citizen_id))
    assert shown.status == "booked"


def test_the_e_mailed_link_opens_its_appointment_until_it_starts(uow: Any, deps: Any, desk: Any, clock: Any) -> None:
    _, _, appointment = desk.booked(slot_at=MONDAY_0830)
    token = deps.links.token_for(appointment)

    linked = handlers.open_link(uow, deps, handlers.OpenLink(token, changeable=True))
    assert (linked.appointment.id, linked.application_type) == (appointment.id, "travel-document")
    with pytest.raises(errors.InvalidLink):
        handlers.open_link(uow, deps, handlers.OpenLink(token[:-2] + "xx"))
    clock.set(MONDAY_0830)
    with pytest.raises(errors.InvalidLink):
        handlers.open_link(uow, deps, handlers.OpenLink(token))


def test_a_cancelled_appointments_link_shows_it_but_offers_no_change(uow: Any, deps: Any, desk: Any) -> None:
    _, _, appointment = desk.booked(slot_at=MONDAY_0830)
    token = deps.links.token_for(appointment)
    handlers.cancel_appointment(uow, deps, handlers.CancelAppointment(appointment.id, None))

    assert handlers.open_link(uow, deps, handlers.OpenLink(token)).appointment.status == "cancelled"
    with pytest.raises(errors.AppointmentNotActive):
        handlers.open_link(uow, deps, handlers.OpenLink(token, changeable=True))


def test_the_day_schedule_lists_the_offices_active_appointments(uow: Any, deps: Any, desk: Any) -> None:
    _, _, kept = desk.booked(slot_at=MONDAY_0830)
    citizen_id, _, cancelled = desk.booked(slot_at=MONDAY_0830 + timedelta(hours=1))
    handlers.cancel_appointment(uow, deps, handlers.CancelAppointment(cancelled.id, citizen_id))
    monday = MONDAY_0830.date()

    schedule = handlers.day_schedule(uow, deps, handlers.DaySchedule("IGI-CJ", monday, desk.officer))

    assert [a.id for a in schedule] == [kept.id]
    with pytest.raises(errors.NotFound):
        handlers.day_schedule(uow, deps, handlers.DaySchedule("IGI-CJ", monday, Officer("o", frozenset({"IGI-B"}))))
