"""Free slots: searching an office's calendar, the earliest proposed, and the per-citizen allowances."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from booking import errors, handlers

pytestmark = pytest.mark.unit

MONDAY_0830 = datetime(2025, 3, 17, 6, 30, tzinfo=UTC)


def test_a_search_returns_the_free_slots_of_the_days_asked_in_order(uow: Any, deps: Any, desk: Any) -> None:
    monday, later_monday, tuesday = desk.slots(
        MONDAY_0830, MONDAY_0830 + timedelta(hours=2), MONDAY_0830 + timedelta(days=1)
    )
    desk.booked(slot_at=MONDAY_0830 + timedelta(hours=1))  # taken: not offered

    found = handlers.search_slots(uow, deps, handlers.SearchSlots("IGI-CJ", date(2025, 3, 17), date(2025, 3, 17)))

    assert [s.id for s in found] == [monday, later_monday]
    assert tuesday not in [s.id for s in found]
    with pytest.raises(errors.NotFound):
        handlers.search_slots(uow, deps, handlers.SearchSlots("XX", date(2025, 3, 17), date(2025, 3, 17)))


def test_slots_that_already_started_are_not_offered(uow: Any, deps: Any, desk: Any, clock: Any) -> None:
    _, second = desk.slots(MONDAY_0830, MONDAY_0830 + timedelta(minutes=20))
    clock.set(MONDAY_0830 + timedelta(minutes=5))

    found = handlers.search_slots(uow, deps, handlers.SearchSlots("IGI-CJ", date(2025, 3, 17), date(2025, 3, 17)))

    assert [s.id for s in found] == [second]


def test_the_earliest_slots_are_proposed_once_the_documents_are_accepted(uow: Any, deps: Any, desk: Any) -> None:
    starts = [MONDAY_0830 + timedelta(minutes=20 * i) for i in range(5)]
    slot_ids = desk.slots(*starts)
    citizen_id, application_id = desk.accepted()
    submitted_citizen, submitted = desk.submitted()

    proposed = handlers.propose_slots(uow, deps, handlers.ProposeSlots(application_id, citizen_id))

    assert [s.id for s in proposed] == slot_ids[:3]  # deps.settings.proposed_slot_count
    with pytest.raises(errors.DocumentsNotAccepted):
        handlers.propose_slots(uow, deps, handlers.ProposeSlots(submitted, submitted_citizen))


def test_an_allowance_is_counted_per_citizen_and_window(uow: Any, deps: Any, clock: Any) -> None:
    limit = deps.settings.slot_searches_per_minute
    search = handlers.TakeAllowance(subject="citizen-1", action="slot-search")
    for _ in range(limit):
        handlers.take_allowance(uow, deps, search)
    commits = uow.commits

    with pytest.raises(errors.AllowanceSpent) as spent:
        handlers.take_allowance(uow, deps, search)

    assert uow.commits == commits + 1  # the refused request is counted too
    assert spent.value.headers == {"Retry-After": "60"}  # the clock stands at the start of a minute
    assert spent.value.extensions == {"retry_after": 60}
    handlers.take_allowance(uow, deps, handlers.TakeAllowance(subject="citizen-2", action="slot-search"))
    handlers.take_allowance(uow, deps, handlers.TakeAllowance(subject="citizen-1", action="booking"))
    clock.advance(timedelta(minutes=1))
    handlers.take_allowance(uow, deps, search)


def test_the_search_answer_is_what_the_documented_slot_schema_dumps(uow: Any, deps: Any, desk: Any) -> None:
    """``slot_items`` writes the answer out for speed; it must stay what ``SlotResponse`` documents."""
    from booking.schemas import SlotResponse, slot_items

    desk.slots(MONDAY_0830, MONDAY_0830 + timedelta(hours=2), MONDAY_0830 + timedelta(days=1))
    found = handlers.search_slots(uow, deps, handlers.SearchSlots("IGI-CJ", date(2025, 3, 17), date(2025, 3, 18)))

    assert len(found) == 3
    assert slot_items(found) == SlotResponse(many=True).dump(found)
    assert slot_items(found)[0]["starts_at"] == "2025-03-17T08:30:00+02:00"  # the office's wall clock
