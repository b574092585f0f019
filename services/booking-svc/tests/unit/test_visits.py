"""At the counter: the visit makes the document ready for pickup from a date; the pickup closes the application."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from booking import errors, handlers
from booking.domain import ApplicationStatus, Officer
from booking.events import ApplicationReady
from booking.tables import Appointment

pytestmark = pytest.mark.unit

MONDAY_0830 = datetime(2025, 3, 17, 6, 30, tzinfo=UTC)


def test_the_visit_marks_the_appointment_attended_and_announces_the_pickup_date(
    uow: Any, deps: Any, desk: Any, clock: Any
) -> None:
    citizen_id, application_id, appointment = desk.booked(slot_at=MONDAY_0830)
    clock.set(MONDAY_0830 + timedelta(minutes=30))
    commits = uow.commits

    details = handlers.record_visit(
        uow, deps, handlers.RecordVisit(application_id, desk.officer, pickup_from=date(2025, 3, 31))
    )

    assert uow.commits == commits + 1
    assert details.application.status == "ready_for_pickup"
    assert details.appointment is None  # attended: no longer the active appointment
    assert uow.session.get(Appointment, appointment.id).status == "attended"
    assert [e.status for e in details.timeline][-2:] == ["biometrics_taken", "ready_for_pickup"]
    (event,) = uow.events_of(ApplicationReady)
    assert (event.citizen_id, event.pickup_from) == (citizen_id, date(2025, 3, 31))
    assert event.biometrics_taken_at == event.ready_at == MONDAY_0830 + timedelta(minutes=30)
    assert uow.published[-1].data["pickup_from"] == "2025-03-31"


def test_biometrics_cannot_be_recorded_ahead_of_time_nor_pickup_before_the_visit(
    uow: Any, deps: Any, desk: Any, clock: Any
) -> None:
    _, application_id, _ = desk.booked(slot_at=MONDAY_0830)
    clock.set(MONDAY_0830)

    with pytest.raises(errors.BiometricsInTheFuture):
        handlers.record_visit(
            uow,
            deps,
            handlers.RecordVisit(
                application_id, desk.officer, date(2025, 3, 31), biometrics_taken_at=MONDAY_0830 + timedelta(hours=1)
            ),
        )
    with pytest.raises(errors.PickupBeforeVisit):
        handlers.record_visit(uow, deps, handlers.RecordVisit(application_id, desk.officer, date(2025, 3, 16)))


def test_the_pickup_closes_the_application_from_its_pickup_date_on(uow: Any, deps: Any, desk: Any, clock: Any) -> None:
    _, application_id, _ = desk.booked(slot_at=MONDAY_0830)
    clock.set(MONDAY_0830 + timedelta(minutes=30))
    handlers.record_visit(uow, deps, handlers.RecordVisit(application_id, desk.officer, date(2025, 3, 31)))
    published = len(uow.published)

    clock.set(datetime(2025, 3, 30, 20, 59, tzinfo=UTC))  # 23:59 on the 30th in Bucharest (summer time)
    with pytest.raises(errors.PickupTooEarly):
        handlers.record_pickup(uow, deps, handlers.RecordPickup(application_id, desk.officer))
    clock.set(datetime(2025, 3, 30, 21, 0, tzinfo=UTC))  # midnight: the 31st in Bucharest
    details = handlers.record_pickup(uow, deps, handlers.RecordPickup(application_id, desk.officer))

    assert details.application.status == "closed"
    assert [e.status for e in details.timeline][-2:] == ["picked_up", "closed"]
    assert len(uow.published) == published  # nobody is mailed about a pickup


def test_there_is_no_visit_without_an_appointment(uow: Any, deps: Any, desk: Any) -> None:
    _, application_id = desk.accepted()

    with pytest.raises(errors.NoAppointment):
        handlers.record_visit(uow, deps, handlers.RecordVisit(application_id, desk.officer, date(2025, 3, 31)))


def test_officers_find_the_visits_to_record_and_the_documents_to_hand_over_in_their_queues(
    uow: Any, deps: Any, desk: Any, clock: Any
) -> None:
    _, visiting, _ = desk.booked(slot_at=MONDAY_0830)
    _, collecting, _ = desk.booked(slot_at=MONDAY_0830 + timedelta(hours=1))
    _, waiting = desk.submitted()
    clock.set(MONDAY_0830 + timedelta(hours=2))
    handlers.record_visit(uow, deps, handlers.RecordVisit(collecting, desk.officer, pickup_from=date(2025, 3, 17)))

    def queue(status: ApplicationStatus, officer: Any = desk.officer) -> list[str]:
        return [a.id for a in handlers.review_queue(uow, deps, handlers.ReviewQueue(officer, status=status))]

    assert queue(ApplicationStatus.SUBMITTED) == [waiting]
    assert queue(ApplicationStatus.APPOINTMENT_BOOKED) == [visiting]
    assert queue(ApplicationStatus.READY_FOR_PICKUP) == [collecting]
    assert queue(ApplicationStatus.READY_FOR_PICKUP, Officer("o2", frozenset({"IGI-TM"}))) == []
