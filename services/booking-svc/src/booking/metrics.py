"""booking-svc's own metrics (the chassis exports the HTTP and outbox ones)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter

from .errors import SlotTaken

BOOKING_OUTCOMES = Counter(
    "booking_attempt_outcomes_total",
    "Booking and rescheduling attempts by outcome (booked, slot_taken, refused, rate_limited).",
    ["service", "outcome"],
)


@contextmanager
def count_booking_outcome(service: str, *, booked: bool = True) -> Iterator[None]:
    """Count a lost race for a slot (``slot_taken``) and, with ``booked``, a won one."""
    try:
        yield
    except SlotTaken:
        BOOKING_OUTCOMES.labels(service, "slot_taken").inc()
        raise
    if booked:
        BOOKING_OUTCOMES.labels(service, "booked").inc()


def count_rate_limited(service: str) -> None:
    BOOKING_OUTCOMES.labels(service, "rate_limited").inc()
