"""Failed logins counted per scope, so that the guessing client waits and the account's owner does not."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import domain
from ..deps import IdentityDeps
from ..events import LoginThrottled
from ..secrets_at_rest import digest
from ..tables import Account, LoginThrottle
from .lookups import aware, recipient

__all__ = [
    "ACCOUNT_WINDOW",
    "Throttle",
    "client_scope_prefix",
    "count_failure",
    "forget_failures",
    "lock_remaining",
    "login_throttles",
    "longest_lock",
    "tell_owner_of_failed_logins",
]

ADDRESS_WINDOW = timedelta(hours=1)
ACCOUNT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Throttle:
    """Failed logins counted together: ``free`` of them within ``window``, then each try waits."""

    scope: str
    free: int
    window: timedelta
    owner_hears: bool = True  # the account's owner is mailed when it starts slowing logins down


def count_failure(uow: UnitOfWork, scope: str, window: timedelta) -> None:
    """One more failure in ``scope``; a count older than ``window`` starts again at one."""
    now = uow.clock.now()
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    fresh = LoginThrottle.last_failure_at < now - window

    statement = insert(LoginThrottle).values(scope=scope, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[LoginThrottle.scope],
        set_={"failures": case((fresh, 1), else_=LoginThrottle.failures + 1), "last_failure_at": now},
    )
    uow.session.execute(statement)


def forget_failures(uow: UnitOfWork, throttles: list[Throttle], *, counted: Collection[str] | None = None) -> None:
    """A successful login clears the counts its owner hears of (an address' count across accounts stays).

    ``counted``: the scopes this unit of work found holding a count (:func:`longest_lock`); when
    none of them is one to clear, there is nothing to delete and no statement is sent. A failure
    counted by another client after that read stays counted, which only errs on the strict side.
    """
    scopes = [t.scope for t in throttles if t.owner_hears and (counted is None or t.scope in counted)]
    if not scopes:
        return
    statement = delete(LoginThrottle).where(LoginThrottle.scope.in_(scopes))
    if counted is not None:  # the counts were read as rows, not loaded into the session: nothing to sync
        statement = statement.execution_options(synchronize_session=False)
    uow.session.execute(statement)


def client_scope_prefix(email_key: str) -> str:
    return "client:" + digest(email_key)[:32] + ":"


def login_throttles(deps: IdentityDeps, email_key: str, address: str, device: str | None) -> list[Throttle]:
    """Who waits after failed logins, such that a stranger cannot lock the owner out.

    A device where the account logged in before (it holds a device token) answers only for its own
    failures. Any other client answers for its own failures on the account (by address), for the
    failures of every client the account does not know, together (a guess spread over many
    addresses), and for its address's failures across accounts (one client trying many).
    """
    settings = deps.settings
    if device is not None:
        return [Throttle("device:" + device, settings.account_free_failures, ACCOUNT_WINDOW)]
    client = client_scope_prefix(email_key) + digest(address)[:32]
    return [
        Throttle(client, settings.account_free_failures, ACCOUNT_WINDOW),
        Throttle("account:" + email_key, settings.unknown_client_free_failures, ACCOUNT_WINDOW),
        Throttle("address:" + address, settings.address_free_failures, ADDRESS_WINDOW, owner_hears=False),
    ]


def lock_remaining(uow: UnitOfWork, deps: IdentityDeps, throttle: Throttle) -> float:
    """Seconds the next try in ``throttle``'s scope must still wait (0: none)."""
    row = uow.session.get(LoginThrottle, throttle.scope, populate_existing=True)
    return _remaining(deps, throttle, row, uow.clock.now())


def longest_lock(uow: UnitOfWork, deps: IdentityDeps, throttles: list[Throttle]) -> tuple[float, frozenset[str]]:
    """:func:`lock_remaining` of the slowest of ``throttles``, their counts read in one statement;
    with the scopes that hold a count (for :func:`forget_failures`)."""
    now = uow.clock.now()
    counted = uow.session.execute(
        select(LoginThrottle.scope, LoginThrottle.failures, LoginThrottle.last_failure_at).where(
            LoginThrottle.scope.in_([throttle.scope for throttle in throttles])
        )
    )
    rows = {row.scope: row for row in counted}
    wait = max((_remaining(deps, t, rows.get(t.scope), now) for t in throttles), default=0.0)
    return wait, frozenset(rows)


def _remaining(deps: IdentityDeps, throttle: Throttle, row: Any, now: datetime) -> float:
    if row is None or row.last_failure_at is None or aware(row.last_failure_at) < now - throttle.window:
        return 0.0
    ends = domain.lock_ends(
        aware(row.last_failure_at),
        row.failures,
        free=throttle.free,
        maximum=timedelta(seconds=deps.settings.lockout_max_seconds),
    )
    return max(0.0, (ends - now).total_seconds()) if ends else 0.0


def tell_owner_of_failed_logins(uow: UnitOfWork, account: Account, throttles: list[Throttle]) -> None:
    """Mail the owner once a day at most, when failed logins start slowing logins to the account down."""
    counted = [(t, uow.session.get(LoginThrottle, t.scope, populate_existing=True)) for t in throttles if t.owner_hears]
    failures = [row.failures for t, row in counted if row is not None and row.failures >= t.free]
    if not failures:
        return
    now = uow.clock.now()
    notice = uow.session.get(LoginThrottle, f"notice:{account.id}", populate_existing=True)
    if notice is not None and notice.last_failure_at and aware(notice.last_failure_at) >= now - ACCOUNT_WINDOW:
        return
    count_failure(uow, f"notice:{account.id}", ACCOUNT_WINDOW)
    uow.publish(
        LoginThrottled(
            account_id=account.id, failed_attempts=max(failures), throttled_at=now, recipient=recipient(account)
        )
    )
