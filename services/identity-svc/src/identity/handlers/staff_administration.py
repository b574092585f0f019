"""Administrators look after the staff of their units: the accounts and their roles, page by page, and
a member's lost second factor reset so that they enrol a new authenticator at their next sign-in.

(The clerks' own directory of a unit's members, for assigning work by name, is another area.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from mai_chassis import Principal, UnitOfWork
from sqlalchemy import delete, func, select, update

from .. import domain
from ..deps import IdentityDeps
from ..domain import AccountKind, StaffRole
from ..errors import Forbidden, NotFound, OwnSecondFactor
from ..tables import Account, RefreshToken, StaffRecoveryCode, StaffRoleGrant, StaffSecondFactor
from .lookups import load_account, record_audit

__all__ = [
    "ListStaffAccounts",
    "ReadStaffAccount",
    "ResetSecondFactor",
    "StaffAccountPage",
    "list_staff_accounts",
    "read_staff_account",
    "reset_second_factor",
]


@dataclass(frozen=True)
class ListStaffAccounts:
    principal: Principal
    #: Only the members holding a role in this unit; None: every unit the admin administers.
    unit: str | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class StaffAccountPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class ReadStaffAccount:
    principal: Principal
    staff_id: str


@dataclass(frozen=True)
class ResetSecondFactor:
    principal: Principal
    staff_id: str
    request_id: str | None = None


def _admin_units(principal: Principal) -> set[str]:
    units = principal.units_for(StaffRole.ADMIN.value) if principal.is_staff else set()
    if not units:
        raise Forbidden("Only administrators look after staff accounts.")
    return units


def list_staff_accounts(uow: UnitOfWork, deps: IdentityDeps, query: ListStaffAccounts) -> StaffAccountPage:
    """Staff accounts by name, with their roles and whether an authenticator is enrolled.

    An admin of every unit sees every staff account (also those without a role); an admin of some
    units sees the members holding a role there, with all their roles (what they may change is
    decided when they change it).
    """
    admin_units = _admin_units(query.principal)
    if query.unit is not None and domain.ANY_UNIT not in admin_units and query.unit not in admin_units:
        raise Forbidden("You do not administer this unit.")
    statement = select(Account).where(Account.kind == AccountKind.STAFF.value)
    units = {query.unit} if query.unit is not None else (None if domain.ANY_UNIT in admin_units else admin_units)
    if units is not None:
        holders = select(StaffRoleGrant.account_id).where(StaffRoleGrant.unit.in_(sorted(units)))
        statement = statement.where(Account.id.in_(holders))
    total = uow.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    accounts = list(
        uow.session.scalars(
            statement.order_by(Account.display_name, Account.email)
            .limit(query.per_page)
            .offset((query.page - 1) * query.per_page)
        )
    )
    return StaffAccountPage(
        items=_administered_views(uow, accounts), total=int(total), page=query.page, per_page=query.per_page
    )


def read_staff_account(uow: UnitOfWork, deps: IdentityDeps, query: ReadStaffAccount) -> dict[str, Any]:
    """One member as the list shows them; a member of no unit the admin administers is not found."""
    admin_units = _admin_units(query.principal)
    account = load_account(uow, query.staff_id)
    if account.kind != AccountKind.STAFF:
        raise NotFound("No such staff account.")
    [view] = _administered_views(uow, [account])
    if domain.ANY_UNIT not in admin_units and not admin_units & {r["unit"] for r in view["roles"]}:
        raise NotFound("No such staff account.")
    return view


def _administered_views(uow: UnitOfWork, accounts: list[Account]) -> list[dict[str, Any]]:
    ids = [a.id for a in accounts]
    grants: dict[uuid.UUID, list[dict[str, str]]] = {key: [] for key in ids}
    for grant in uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id.in_(ids))):
        grants[grant.account_id].append({"role": grant.role, "unit": grant.unit})
    enrolled = set(
        uow.session.scalars(
            select(StaffSecondFactor.account_id).where(
                StaffSecondFactor.account_id.in_(ids), StaffSecondFactor.confirmed_at.is_not(None)
            )
        )
    )
    return [
        {
            "staff_id": str(account.id),
            "email": account.email,
            "name": account.display_name,
            "roles": sorted(grants[account.id], key=lambda r: (r["role"], r["unit"])),
            "created_at": account.created_at,
            "second_factor_enrolled": account.id in enrolled,
            "password_set": account.password_hash is not None,
        }
        for account in accounts
    ]


def reset_second_factor(uow: UnitOfWork, deps: IdentityDeps, command: ResetSecondFactor) -> None:
    """Forget a member's authenticator and recovery codes and end their sessions: at the next sign-in
    they enrol a new authenticator. Only an admin who could grant every role the member holds may
    (an admin of every unit for a member without roles); never one's own."""
    admin_units = _admin_units(command.principal)
    account = load_account(uow, command.staff_id, lock=True)
    if account.kind != AccountKind.STAFF:
        raise NotFound("No such staff account.")
    if str(account.id) == command.principal.subject:
        raise OwnSecondFactor("You cannot reset your own second factor; ask another administrator.")
    held = [
        (g.role, g.unit)
        for g in uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id == account.id))
    ]
    allowed = all(domain.can_grant(admin_units, StaffRole(role), unit) for role, unit in held)
    if not allowed or (not held and domain.ANY_UNIT not in admin_units):
        raise Forbidden("You do not administer every unit where this member holds a role.")
    now = uow.clock.now()
    uow.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.account_id == account.id))
    uow.session.execute(delete(StaffSecondFactor).where(StaffSecondFactor.account_id == account.id))
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    member_units = sorted({unit for _role, unit in held})
    record_audit(
        uow,
        command.principal.subject,
        "staff.second_factor_reset",
        target=account.id,
        # Where the member works, so that the admins of that unit read it on the trail.
        unit=member_units[0] if len(member_units) == 1 else domain.ANY_UNIT,
        request_id=command.request_id,
    )
    uow.commit()
