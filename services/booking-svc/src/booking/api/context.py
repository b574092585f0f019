"""What every view reads from its request: the service's dependencies, the caller, the allowances."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from mai_chassis import current_principal
from mai_chassis.web import unit_of_work

from ..deps import BookingDeps
from ..domain import Officer
from ..handlers import TakeAllowance, take_allowance

OFFICER_ROLE = "immigration_officer"
#: Staff who keep an office's opening hours, counters per slot type and closures (unit: office code).
MANAGER_ROLE = "office_manager"

_F = TypeVar("_F", bound=Callable[..., Any])


def deps() -> BookingDeps:
    return current_app.extensions["booking"]  # type: ignore[no-any-return]


def citizen() -> str:
    principal = current_principal()
    assert principal is not None
    return principal.subject


def officer() -> Officer:
    principal = current_principal()
    assert principal is not None
    return Officer(principal.subject, frozenset(principal.units_for(OFFICER_ROLE)))


def manager() -> Officer:
    principal = current_principal()
    assert principal is not None
    return Officer(principal.subject, frozenset(principal.units_for(MANAGER_ROLE)))


def officer_or_manager() -> Officer:
    """The caller with the offices where it is an officer or a manager (both see an office's day)."""
    principal = current_principal()
    assert principal is not None
    offices = principal.units_for(OFFICER_ROLE) | principal.units_for(MANAGER_ROLE)
    return Officer(principal.subject, frozenset(offices))


def spend_allowance(action: str, subject: str) -> None:
    """Count one ``action`` of ``subject`` (a citizen id); 429 once the window's allowance is spent."""
    with unit_of_work() as uow:
        take_allowance(uow, deps(), TakeAllowance(subject=subject, action=action))


def rate_limited(action: str) -> Callable[[_F], _F]:
    """Per-citizen fixed-window limit kept in the database (shared by every web process)."""

    def decorator(view: _F) -> _F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            spend_allowance(action, citizen())
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
