"""The signed-in staff member as the console sees them: their roles per unit, and what that opens.

The roles come from the access token identity-svc issued (``role@unit``; ``*`` is every unit).
They choose the navigation and which pages are offered; every API call is checked again by the
service that answers it, so a page opened by hand still gets only what the API allows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from flask import abort
from mai_webkit.auth import login_required, signed_in_claims

__all__ = [
    "ADMIN",
    "ANY_UNIT",
    "CERTIFICATE_CLERK",
    "COUNTER_CLERK",
    "IMMIGRATION_OFFICER",
    "OFFICE_MANAGER",
    "PETITION_CLERK",
    "PHONE_OPERATOR",
    "Staff",
    "current_staff",
    "staff_only",
]

PETITION_CLERK = "petition_clerk"
PHONE_OPERATOR = "phone_operator"
COUNTER_CLERK = "counter_clerk"
IMMIGRATION_OFFICER = "immigration_officer"
OFFICE_MANAGER = "office_manager"
CERTIFICATE_CLERK = "certificate_clerk"
ADMIN = "admin"
ANY_UNIT = "*"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Staff:
    subject: str
    roles: frozenset[tuple[str, str]]

    @classmethod
    def from_claims(cls, claims: dict[str, object]) -> Staff:
        grants = set()
        for entry in claims.get("roles") or []:  # type: ignore[attr-defined]
            role, _, unit = str(entry).partition("@")
            if role and unit:
                grants.add((role, unit))
        return cls(subject=str(claims.get("sub", "")), roles=frozenset(grants))

    def has(self, *roles: str) -> bool:
        return any(role == held for held, _unit in self.roles for role in roles)

    def units_for(self, role: str) -> list[str]:
        """The units where the member holds ``role``, in order (``*``: every unit)."""
        return sorted(unit for held, unit in self.roles if held == role)

    def acts_in(self, role: str, unit: str) -> bool:
        """Whether the member holds ``role`` in ``unit`` (or in every unit)."""
        units = self.units_for(role)
        return unit in units or ANY_UNIT in units


def current_staff() -> Staff:
    return Staff.from_claims(signed_in_claims())


def staff_only(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The page is for staff holding one of ``roles`` in some unit: others are asked to sign in (no
    session) or told the page is not theirs (403)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if roles and not current_staff().has(*roles):
                abort(403)
            return view(*args, **kwargs)

        return login_required(wrapper)

    return decorate
