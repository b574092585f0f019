"""Where use cases read the time: the system clock in production, a fixed one in tests.

Handlers never call ``datetime.now()``; they ask ``uow.clock``. ``now()`` is an aware UTC
instant; ``today()`` is the calendar day in Romania (Europe/Bucharest), the day that legal
deadlines and office hours count in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["ROMANIA", "Clock", "FixedClock", "ManualMonotonic", "SystemClock"]

#: The time zone whose calendar days the platform's deadlines count.
ROMANIA = ZoneInfo("Europe/Bucharest")


class Clock(Protocol):
    """The current instant and the current day in Romania."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def today(self) -> date:
        """The current calendar day in Europe/Bucharest."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(ROMANIA).date()

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still at ``at`` until a test moves it with :meth:`advance` or :meth:`set`."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.astimezone(ROMANIA).date()

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (forwards, or backwards for a negative one)."""
        self._at += delta

    def set(self, at: datetime) -> None:
        """Move the clock to ``at``."""
        self._at = _aware_utc(at)

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a clock's time must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return at.astimezone(UTC)


class ManualMonotonic:
    """A stand-in for ``time.monotonic`` (a callable giving seconds) that stands still until a test
    moves it with :meth:`advance`: intervals and deadlines measured without waiting for them."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
