"""Per-citizen allowances of slot searches and booking attempts, counted in the database.

A fixed window per citizen and action, shared by every web process; the count commits in its own
transaction, before the action it allows. On PostgreSQL that transaction is one statement sent on
its own (no BEGIN, no COMMIT round trips): every slot search and booking attempt pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mai_chassis import SqlUnitOfWork, UnitOfWork
from sqlalchemy import delete
from sqlalchemy.dialects import sqlite

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


#: The count of one request in one statement (PostgreSQL): the window's row is created or incremented,
#: the citizen's older windows of the action are deleted when a new window starts, and the commit
#: does not wait for the WAL flush (``set_config(..., true)`` lasts until the end of this statement's
#: own transaction, as ``SET LOCAL`` did in the transaction it replaces).
_COUNT_REQUEST = """
WITH asynchronous_commit AS (SELECT set_config('synchronous_commit', 'off', true)),
counted AS (
    INSERT INTO rate_limit_windows (subject, action, window_start, hits)
    VALUES (%(subject)s, %(action)s, %(window_start)s, 1)
    ON CONFLICT (subject, action, window_start) DO UPDATE SET hits = rate_limit_windows.hits + 1
    RETURNING hits
),
older_windows AS (
    DELETE FROM rate_limit_windows
    WHERE subject = %(subject)s AND action = %(action)s AND window_start < %(window_start)s
      AND EXISTS (SELECT FROM counted WHERE hits = 1)
)
SELECT counted.hits FROM counted, asynchronous_commit
"""


def take_allowance(uow: UnitOfWork, deps: BookingDeps, command: TakeAllowance) -> None:
    """Count the request in the current window; :class:`AllowanceSpent` once the window's allowance is spent
    (the refused request is counted all the same)."""
    limit, window = allowance_of(deps, command.action)
    now = uow.clock.now()
    seconds = int(window.total_seconds())
    window_start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    if isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql:
        parameters = {"subject": command.subject, "action": command.action, "window_start": window_start}
        row = uow.commit_with(_COUNT_REQUEST, parameters)
        assert row is not None  # the upsert always returns the window's row
        hits = int(row[0])
    else:
        hits = _count_in_session(uow, command, window_start)
    if hits > limit:
        if command.action == BOOKING:
            count_rate_limited(deps.settings.service_name)
        raise AllowanceSpent(command.action, max(1, int((window_start + window - now).total_seconds())))


def _count_in_session(uow: UnitOfWork, command: TakeAllowance, window_start: datetime) -> int:
    """The same count through the session (SQLite: the component and handler tests), committed; the window's hits."""
    session = uow.session
    counted = (
        sqlite.insert(RateLimitWindow)
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
    return hits
