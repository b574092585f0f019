"""The hot paths as PostgreSQL runs them (single statements, no ORM): the allowances' count, the slot
search, and booking a slot."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from booking import errors, handlers
from booking.config import Settings
from booking.deps import BookingDeps, booking_deps
from booking.schemas import SlotResponse, slot_items
from booking.tables import Application, RateLimitWindow, Slot
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from sqlalchemy import select, text, update

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "booking" / "migrations"
#: Friday 28 March 2025, 09:00 UTC: the clocks go forward in Bucharest on Sunday 30 March.
FRIDAY = datetime(2025, 3, 28, 9, 0, tzinfo=UTC)


class _NoStore:
    def put(self, digest: str, content: bytes, media_type: str) -> None:
        return None

    def get(self, digest: str) -> bytes:
        raise KeyError(digest)


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("booking", MIGRATIONS, pool_size=1, max_overflow=0)


@pytest.fixture
def deps(database: Database) -> BookingDeps:
    settings = Settings(
        database_url=database.url, appointment_link_key="k" * 32, slot_searches_per_minute=3, bookings_per_hour=2
    )
    return booking_deps(settings, store=_NoStore())


def _count(database: Database, deps: BookingDeps, clock: FixedClock, subject: str, action: str) -> None:
    with database.unit_of_work(clock=clock) as uow:
        handlers.take_allowance(uow, deps, handlers.TakeAllowance(subject=subject, action=action))


def _windows(database: Database) -> list[tuple[str, str, datetime, int]]:
    with database.session() as session:
        rows = session.execute(
            select(
                RateLimitWindow.subject, RateLimitWindow.action, RateLimitWindow.window_start, RateLimitWindow.hits
            ).order_by(RateLimitWindow.subject, RateLimitWindow.action, RateLimitWindow.window_start)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_searches_are_counted_per_citizen_and_minute_and_the_refused_one_too(
    database: Database, deps: BookingDeps
) -> None:
    clock = FixedClock(FRIDAY + timedelta(seconds=15))
    for _ in range(3):
        _count(database, deps, clock, "citizen-1", "slot-search")

    with pytest.raises(errors.AllowanceSpent) as spent:
        _count(database, deps, clock, "citizen-1", "slot-search")

    assert spent.value.headers == {"Retry-After": "45"}
    _count(database, deps, clock, "citizen-2", "slot-search")
    _count(database, deps, clock, "citizen-1", "booking")
    assert _windows(database) == [
        ("citizen-1", "booking", FRIDAY, 1),
        ("citizen-1", "slot-search", FRIDAY, 4),
        ("citizen-2", "slot-search", FRIDAY, 1),
    ]


def test_a_new_window_starts_afresh_and_drops_only_that_citizens_older_windows_of_the_action(
    database: Database, deps: BookingDeps
) -> None:
    clock = FixedClock(FRIDAY)
    for subject, action in (("citizen-1", "slot-search"), ("citizen-1", "booking"), ("citizen-2", "slot-search")):
        _count(database, deps, clock, subject, action)
    _count(database, deps, clock, "citizen-1", "slot-search")
    clock.advance(timedelta(minutes=1))

    _count(database, deps, clock, "citizen-1", "slot-search")  # not refused: a new minute
    _count(database, deps, clock, "citizen-1", "slot-search")  # the second of the window deletes nothing

    assert _windows(database) == [
        ("citizen-1", "booking", FRIDAY, 1),
        ("citizen-1", "slot-search", FRIDAY + timedelta(minutes=1), 2),
        ("citizen-2", "slot-search", FRIDAY, 1),
    ]


def test_the_counts_relaxed_durability_does_not_outlive_its_statement(database: Database, deps: BookingDeps) -> None:
    """The count commits without waiting for the WAL flush; the pooled connection (the only one
    here) must come back with its own setting, which every booking's commit relies on."""
    with database.engine.connect() as connection:
        connection.execute(text("SET synchronous_commit = on"))  # the test server's default may be off
        connection.commit()

    _count(database, deps, FixedClock(FRIDAY), "citizen-1", "slot-search")

    with database.engine.connect() as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
        assert connection.execute(text("SELECT count(*) FROM rate_limit_windows")).scalar_one() == 1


def _slots(database: Database, *starts: datetime, counter: str = "1", office: str = "IGI-CJ") -> list[int]:
    with database.session() as session:
        rows = [Slot(office=office, counter=counter, starts_at=at, ends_at=at + timedelta(minutes=20)) for at in starts]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def _search(database: Database, deps: BookingDeps, first: date, last: date, limit: int = 100) -> list[Any]:
    with database.reading(clock=FixedClock(FRIDAY)) as uow:
        return handlers.search_slots(uow, deps, handlers.SearchSlots("IGI-CJ", first, last, limit))


def test_a_search_answers_the_free_slots_in_time_and_counter_order_across_the_clock_change(
    database: Database, deps: BookingDeps
) -> None:
    saturday_last = datetime(2025, 3, 29, 7, 40, tzinfo=UTC)  # 09:40 in Bucharest (+02:00)
    monday_first = datetime(2025, 3, 31, 5, 30, tzinfo=UTC)  # 08:30 in Bucharest (+03:00)
    second_counter = _slots(database, monday_first, counter="2")
    first_counter = _slots(database, saturday_last, monday_first, monday_first + timedelta(minutes=20))
    _slots(database, monday_first, office="IGI-B")  # another office
    _slots(database, FRIDAY - timedelta(minutes=20))  # started already
    with database.session() as session:
        session.execute(update(Slot).where(Slot.id == first_counter[2]).values(is_booked=True))
        session.commit()

    found = _search(database, deps, date(2025, 3, 28), date(2025, 3, 31))

    assert [slot.id for slot in found] == [first_counter[0], first_counter[1], second_counter[0]]
    assert slot_items(found) == SlotResponse(many=True).dump(found)
    assert [(item["starts_at"], item["ends_at"]) for item in slot_items(found)][:2] == [
        ("2025-03-29T09:40:00+02:00", "2025-03-29T10:00:00+02:00"),
        ("2025-03-31T08:30:00+03:00", "2025-03-31T08:50:00+03:00"),
    ]
    assert [slot.id for slot in _search(database, deps, date(2025, 3, 28), date(2025, 3, 31), limit=2)] == [
        first_counter[0],
        first_counter[1],
    ]
    assert _search(database, deps, date(2025, 3, 30), date(2025, 3, 30)) == []


def _accepted_application(database: Database, office: str = "IGI-CJ") -> tuple[str, str]:
    """(citizen_id, application_id) of an application whose documents were accepted."""
    citizen_id, application_id = str(uuid.uuid4()), str(uuid.uuid4())
    with database.session() as session:
        session.add(
            Application(
                id=application_id,
                citizen_id=citizen_id,
                application_type="travel-document",
                office=office,
                status="documents_accepted",
                submission_number=1,
                recipient_email="ana@example.org",
                recipient_name="Ana Popescu",
                recipient_language="ro",
                created_at=FRIDAY - timedelta(days=3),
                submitted_at=FRIDAY - timedelta(days=3),
            )
        )
        session.commit()
    return citizen_id, application_id


def _book(database: Database, deps: BookingDeps, citizen_id: str, application_id: str, slot_id: int) -> Any:
    with database.unit_of_work(clock=FixedClock(FRIDAY), source="booking-svc") as uow:
        return handlers.book_appointment(uow, deps, handlers.BookAppointment(application_id, citizen_id, slot_id))


def _written(database: Database, application_id: str) -> dict[str, Any]:
    with database.engine.connect() as connection:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in connection.execute(text(sql), {"a": application_id})]

        return {
            "application": rows("SELECT status FROM applications WHERE id = :a"),
            "appointments": rows(
                "SELECT id, slot_id, office, counter, starts_at, ends_at, status, booked_at, rescheduled_from"
                " FROM appointments WHERE application_id = :a"
            ),
            "timeline": rows("SELECT status, occurred_at, note FROM application_timeline WHERE application_id = :a"),
            "events": rows(
                "SELECT event_type, topic, key, payload FROM outbox_events"
                " WHERE payload::jsonb -> 'data' ->> 'application_id' = :a"
            ),
        }


def test_booking_a_free_slot_writes_the_appointment_status_timeline_and_event_in_one_commit(
    database: Database, deps: BookingDeps
) -> None:
    citizen_id, application_id = _accepted_application(database)
    (slot_id,) = _slots(database, datetime(2025, 3, 31, 5, 30, tzinfo=UTC))

    appointment = _book(database, deps, citizen_id, application_id, slot_id)

    written = _written(database, application_id)
    assert written["application"] == [("appointment_booked",)]
    assert written["appointments"] == [
        (
            appointment.id,
            slot_id,
            "IGI-CJ",
            "1",
            datetime(2025, 3, 31, 5, 30, tzinfo=UTC),
            datetime(2025, 3, 31, 5, 50, tzinfo=UTC),
            "booked",
            FRIDAY,
            None,
        )
    ]
    assert written["timeline"] == [("appointment_booked", FRIDAY, "2025-03-31T08:30:00+03:00")]
    ((event_type, topic, key, payload),) = written["events"]
    data = json.loads(payload)["data"]
    assert event_type == "ro.mai.appointment.booked.v1"
    assert (key, topic) == (application_id, mai_contracts.topic_for_event_type(event_type).name)
    assert (data["appointment_id"], data["citizen_id"], data["counter"]) == (appointment.id, citizen_id, "1")
    assert (data["starts_at"], data["ends_at"]) == ("2025-03-31T05:30:00Z", "2025-03-31T05:50:00Z")
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT is_booked FROM slots WHERE id = :s"), {"s": slot_id}).scalar_one()
    assert (appointment.status, appointment.office, appointment.rescheduled_from) == ("booked", "IGI-CJ", None)


def test_a_slot_already_taken_refuses_the_booking_and_writes_nothing(database: Database, deps: BookingDeps) -> None:
    (slot_id,) = _slots(database, datetime(2025, 3, 31, 5, 30, tzinfo=UTC))
    first = _accepted_application(database)
    _book(database, deps, *first, slot_id)
    second = _accepted_application(database)

    with pytest.raises(errors.SlotTaken):
        _book(database, deps, *second, slot_id)

    assert _written(database, second[1]) == {
        "application": [("documents_accepted",)],
        "appointments": [],
        "timeline": [],
        "events": [],
    }


def test_an_active_appointment_left_on_a_free_slot_still_refuses_a_second_booking(
    database: Database, deps: BookingDeps
) -> None:
    """The partial unique index is the last word even when the slot's flag says free."""
    (slot_id,) = _slots(database, datetime(2025, 3, 31, 5, 30, tzinfo=UTC))
    _book(database, deps, *_accepted_application(database), slot_id)
    with database.session() as session:
        session.execute(update(Slot).where(Slot.id == slot_id).values(is_booked=False))
        session.commit()
    second = _accepted_application(database)

    with pytest.raises(errors.SlotTaken):
        _book(database, deps, *second, slot_id)

    assert _written(database, second[1])["appointments"] == []
    assert _written(database, second[1])["application"] == [("documents_accepted",)]


def test_a_slot_that_is_unknown_elsewhere_or_started_is_refused_before_anything_is_written(
    database: Database, deps: BookingDeps
) -> None:
    citizen_id, application_id = _accepted_application(database)
    (elsewhere,) = _slots(database, datetime(2025, 3, 31, 5, 30, tzinfo=UTC), office="IGI-B")
    (started,) = _slots(database, FRIDAY - timedelta(minutes=10))

    with pytest.raises(errors.NotFound):
        _book(database, deps, citizen_id, application_id, 999_999)
    with pytest.raises(errors.SlotAtAnotherOffice):
        _book(database, deps, citizen_id, application_id, elsewhere)
    with pytest.raises(errors.SlotInThePast):
        _book(database, deps, citizen_id, application_id, started)

    assert _written(database, application_id) == {
        "application": [("documents_accepted",)],
        "appointments": [],
        "timeline": [],
        "events": [],
    }
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slots WHERE is_booked")).scalar_one() == 0


def test_only_the_applicants_own_accepted_application_books_a_slot(database: Database, deps: BookingDeps) -> None:
    (slot_id,) = _slots(database, datetime(2025, 3, 31, 5, 30, tzinfo=UTC))
    citizen_id, application_id = _accepted_application(database)
    with database.session() as session:
        session.execute(update(Application).where(Application.id == application_id).values(status="submitted"))
        session.commit()

    with pytest.raises(errors.NotFound):
        _book(database, deps, citizen_id, str(uuid.uuid4()), slot_id)
    with pytest.raises(errors.NotFound):
        _book(database, deps, citizen_id, "not-a-uuid", slot_id)
    with pytest.raises(errors.NotFound):
        _book(database, deps, "someone-else", application_id, slot_id)
    with pytest.raises(errors.DocumentsNotAccepted):
        _book(database, deps, citizen_id, application_id, slot_id)
    booked = _accepted_application(database)
    _book(database, deps, *booked, slot_id)
    (other_slot,) = _slots(database, datetime(2025, 3, 31, 6, 30, tzinfo=UTC))
    with pytest.raises(errors.AppointmentExists):
        _book(database, deps, *booked, other_slot)

    assert _written(database, application_id)["appointments"] == []
    assert len(_written(database, booked[1])["appointments"]) == 1
