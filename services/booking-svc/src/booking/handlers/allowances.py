"""Per-citizen allowances of slot searches and booking attempts, counted in the database.

A fixed window per citizen and action, shared by every web process; the count commits in its own
transaction, before the action it allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mai_chassis import UnitOfWork
from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql, sqlite

from ..deps import BookingDeps
from ..errors import AllowanceSpent
from ..metrics import count_rate_limited
from ..tables import RateLimitWindow

SLOT_SEARCH = "slot-search"
BOOKING = "booking"


@dataclass(frozen=True)
class TakeAllowance:
    """One ``action`` (``slot-search`` or ``booking``) of ``subject`` (a citizen id)."""

    subject: str
    action: str


def allowance_of(deps: BookingDeps, action: str) -> tuple[int, timedelta]:
    """How many ``action`` requests a citizen may make per window, and the window."""
    if action == SLOT_SEARCH:
        return deps.settings.slot_searches_per_minute, timedelta(minutes=1)
    return deps.settings.bookings_per_hour, timedelta(hours=1)


def take_allowance(uow: UnitOfWork, deps: BookingDeps, command: TakeAllowance) -> None:
    """Count the request in the current window; :class:`AllowanceSpent` once the window's allowance is spent
    (the refused request is counted all the same)."""
    limit, window = allowance_of(deps, command.action)
    now = uow.clock.now()
    session = uow.session
    seconds = int(window.total_seconds())
    window_start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    if is_postgresql:
        # A counter lost in a crash only forgives a few requests: no need to wait for the WAL flush.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    insert = postgresql.insert if is_postgresql else sqlite.insert
    counted = (
        insert(RateLimitWindow)
        .values(subject=command.subject, action=command.action, window_start=window_start, hits=1)
        .on_conflict_do_update(
            index_elements=["subject", "action", "window_start"], set_={"hits": RateLimitWindow.hits + 1}
        )
        .returning(RateLimitWindow.hits)
    )
    hits: int = session.execute(counted).scalar_one()
    if hits == 1:  # a new window: the citizen's older ones are no longer needed
        session.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.subject == command.subject,
                RateLimitWindow.action == command.action,
                RateLimitWindow.window_start < window_start,
            )
        )
    uow.commit()
    if hits > limit:
        if command.action == BOOKING:
            count_rate_limited(deps.settings.service_name)
        raise AllowanceSpent(command.action, max(1, int((window_start + window - now).total_seconds())))
