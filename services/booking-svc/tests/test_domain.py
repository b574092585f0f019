"""Rules of applications, calendars and slots."""

from __future__ import annotations

from datetime import date, time

import pytest
from booking import domain, errors
from booking.catalog import load_catalog
from booking.domain import ApplicationStatus, DocumentDecision, DocumentStatus


def _schedule(**changes: object) -> domain.OfficeSchedule:
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    values: dict[str, object] = {
        "office": "IGI-CJ",
        "counters": ("1", "2", "3", "4"),
        "opening_hours": {day: (domain.OpeningInterval(time(8, 30), time(12, 30)),) for day in weekdays},
        "capacity": {domain.SlotType.VISIT: 4},
    }
    values.update(changes)
    return domain.OfficeSchedule(**values)  # type: ignore[arg-type]


def test_offices_are_closed_on_public_holidays_weekends_and_their_closures() -> None:
    schedule = _schedule(closures=(domain.Closure(date(2025, 3, 19), date(2025, 3, 20), "Renovation"),))
    closed = (date(2025, 12, 25), date(2025, 4, 18), date(2025, 4, 21), date(2025, 6, 9), date(2025, 3, 15))
    for day in (*closed, date(2025, 3, 19), date(2025, 3, 20)):
        assert list(domain.office_slots(schedule, day)) == [], day
    assert list(domain.office_slots(schedule, date(2025, 3, 21)))


def test_a_working_day_offers_every_counter_of_the_capacity_for_every_slot_of_the_opening_hours() -> None:
    slots = list(domain.office_slots(_schedule(), date(2025, 3, 17)))
    assert len(slots) == 12 * 4
    assert slots[0].starts_at.isoformat() == "2025-03-17T08:30:00+02:00"
    assert slots[-1].ends_at.isoformat() == "2025-03-17T12:30:00+02:00"
    assert {s.slot_type for s in slots} == {domain.SlotType.VISIT}

    two_counters = list(domain.office_slots(_schedule(capacity={domain.SlotType.VISIT: 2}), date(2025, 3, 17)))
    assert len(two_counters) == 12 * 2 and {s.counter for s in two_counters} == {"1", "2"}


def test_every_office_of_every_county_and_bucharest_is_listed() -> None:
    catalog = load_catalog()
    assert len(catalog.offices) == 42
    assert all(office.counters for office in catalog.offices.values())


def test_submission_needs_every_required_document() -> None:
    travel = load_catalog().application_types["travel-document"]
    with pytest.raises(errors.DocumentsMissing) as refused:
        domain.check_can_submit(ApplicationStatus.DRAFT, travel, {"photo": DocumentStatus.UPLOADED})
    assert "fee-receipt" in str(refused.value)


def test_only_rejected_documents_can_be_replaced_after_a_review() -> None:
    travel = load_catalog().application_types["travel-document"]
    domain.check_document_can_be_uploaded(ApplicationStatus.CHANGES_REQUESTED, travel, "photo", DocumentStatus.REJECTED)
    with pytest.raises(errors.DocumentNotRejected, match="Only documents the officer rejected"):
        domain.check_document_can_be_uploaded(
            ApplicationStatus.CHANGES_REQUESTED, travel, "photo", DocumentStatus.ACCEPTED
        )
    with pytest.raises(errors.ApplicationNotEditable, match="while the application is submitted"):
        domain.check_document_can_be_uploaded(ApplicationStatus.SUBMITTED, travel, "photo", DocumentStatus.UPLOADED)


def test_a_rejection_without_feedback_is_refused() -> None:
    with pytest.raises(errors.FeedbackRequired, match="Say why photo is rejected"):
        domain.review_outcome(
            ApplicationStatus.SUBMITTED, {"photo": DocumentStatus.UPLOADED}, [DocumentDecision("photo", False, " ")]
        )


def test_review_must_decide_on_every_document_awaiting_it() -> None:
    documents = {"photo": DocumentStatus.UPLOADED, "fee-receipt": DocumentStatus.UPLOADED}
    with pytest.raises(errors.DecisionMissing, match="fee-receipt"):
        domain.review_outcome(ApplicationStatus.SUBMITTED, documents, [DocumentDecision("photo", True)])


def test_one_rejected_document_requests_changes_and_all_accepted_opens_booking() -> None:
    documents = {"photo": DocumentStatus.UPLOADED, "fee-receipt": DocumentStatus.ACCEPTED}
    assert (
        domain.review_outcome(ApplicationStatus.SUBMITTED, documents, [DocumentDecision("photo", False, "blurred")])
        is ApplicationStatus.CHANGES_REQUESTED
    )
    assert (
        domain.review_outcome(ApplicationStatus.SUBMITTED, documents, [DocumentDecision("photo", True)])
        is ApplicationStatus.DOCUMENTS_ACCEPTED
    )


def test_a_second_appointment_for_the_same_application_is_refused() -> None:
    with pytest.raises(errors.AppointmentExists):
        domain.check_can_book(ApplicationStatus.APPOINTMENT_BOOKED)
