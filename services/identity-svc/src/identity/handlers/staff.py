"""Staff accounts: admins create members and grant or revoke roles per unit; every change is audited."""

from __future__ import annotations

import uuid
from typing import Any

from mai_chassis import Principal, UnitOfWork
from sqlalchemy import select

from .. import domain
from ..commands import CreateFirstAdmin, CreateStaffAccount, GrantRole, RevokeRole
from ..deps import IdentityDeps
from ..domain import AccountKind, StaffRole
from ..errors import AccountExists, Forbidden, NotFound
from ..tables import Account, StaffRoleGrant
from .lookups import account_by_email, load_account, record_audit
from .mail_codes import request_reset

__all__ = [
    "create_first_admin",
    "create_staff_account",
    "grant_role",
    "revoke_role",
    "staff_view",
]


def _admin_units(principal: Principal) -> set[str]:
    return principal.units_for(StaffRole.ADMIN.value) if principal.is_staff else set()


def staff_view(uow: UnitOfWork, account: Account) -> dict[str, Any]:
    """The member as ``schemas.StaffAccount`` shows it, roles sorted."""
    grants = uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id == account.id))
    return {
        "staff_id": str(account.id),
        "email": account.email,
        "name": account.display_name,
        "roles": sorted(({"role": g.role, "unit": g.unit} for g in grants), key=lambda r: (r["role"], r["unit"])),
        "created_at": account.created_at,
    }


def create_staff_account(uow: UnitOfWork, deps: IdentityDeps, command: CreateStaffAccount) -> dict[str, Any]:
    """An admin creates a staff account; the new member sets a password with a mailed code."""
    principal = command.principal
    wanted = list(dict.fromkeys((StaffRole(r), u) for r, u in command.roles))  # a repeated grant counts once
    admin_units = _admin_units(principal)
    if not admin_units or not all(domain.can_grant(admin_units, r, u) for r, u in wanted):
        raise Forbidden("You cannot grant these roles.")
    if account_by_email(uow, command.email) is not None:
        raise AccountExists("An account with this e-mail address exists.")
    now = uow.clock.now()
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF.value,
        email=domain.normalise_email(command.email),
        display_name=command.name,
        language=command.language,
        password_hash=None,
        created_at=now,
    )
    uow.session.add(account)
    uow.flush()
    for role, unit in wanted:
        uow.session.add(
            StaffRoleGrant(
                account_id=account.id,
                role=role.value,
                unit=unit,
                granted_by=uuid.UUID(principal.subject),
                granted_at=now,
            )
        )
    request_reset(uow, deps, account, "staff_invitation")
    record_audit(
        uow,
        principal.subject,
        "staff.account_created",
        target=account.id,
        details={"roles": [f"{r.value}@{u}" for r, u in wanted]},
        request_id=command.request_id,
    )
    uow.commit()
    return staff_view(uow, account)


def _staff_account(uow: UnitOfWork, staff_id: str) -> Account:
    account = load_account(uow, staff_id, lock=True)
    if account.kind != AccountKind.STAFF:
        raise NotFound("No such staff account.")
    return account


def _grant(uow: UnitOfWork, account: Account, role: str, unit: str) -> StaffRoleGrant | None:
    return uow.session.scalars(
        select(StaffRoleGrant).where(
            StaffRoleGrant.account_id == account.id, StaffRoleGrant.role == role, StaffRoleGrant.unit == unit
        )
    ).first()


def _record_role_change(uow: UnitOfWork, action: str, account: Account, command: GrantRole | RevokeRole) -> None:
    """The audit record of a role granted or revoked (``action``) by the command's admin."""
    record_audit(
        uow,
        command.principal.subject,
        action,
        target=account.id,
        unit=command.unit,
        details={"role": command.role},
        request_id=command.request_id,
    )


def grant_role(uow: UnitOfWork, deps: IdentityDeps, command: GrantRole) -> dict[str, Any]:
    """Grant a role in a unit the admin administers (granting it again changes nothing)."""
    principal = command.principal
    if not domain.can_grant(_admin_units(principal), StaffRole(command.role), command.unit):
        raise Forbidden("You cannot grant this role in this unit.")
    account = _staff_account(uow, command.staff_id)
    if _grant(uow, account, command.role, command.unit) is None:
        uow.session.add(
            StaffRoleGrant(
                account_id=account.id,
                role=command.role,
                unit=command.unit,
                granted_by=uuid.UUID(principal.subject),
                granted_at=uow.clock.now(),
            )
        )
        _record_role_change(uow, "staff.role_granted", account, command)
    uow.flush()
    view = staff_view(uow, account)
    uow.commit()
    return view


def revoke_role(uow: UnitOfWork, deps: IdentityDeps, command: RevokeRole) -> dict[str, Any]:
    """Revoke a role in a unit the admin administers (a role not held: nothing changes)."""
    principal = command.principal
    if not domain.can_grant(_admin_units(principal), StaffRole(command.role), command.unit):
        raise Forbidden("You cannot revoke this role in this unit.")
    account = _staff_account(uow, command.staff_id)
    grant = _grant(uow, account, command.role, command.unit)
    if grant is not None:
        uow.session.delete(grant)
        _record_role_change(uow, "staff.role_revoked", account, command)
    uow.flush()
    view = staff_view(uow, account)
    uow.commit()
    return view


def create_first_admin(uow: UnitOfWork, deps: IdentityDeps, command: CreateFirstAdmin) -> Account:
    """The CLI's ``create-admin``: an admin of every unit, its e-mail taken as confirmed."""
    if account_by_email(uow, command.email) is not None:
        raise AccountExists("An account with this e-mail address exists.")
    now = uow.clock.now()
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF.value,
        email=domain.normalise_email(command.email),
        display_name=command.name,
        language="ro",
        password_hash=deps.hasher.hash(command.password),
        email_confirmed_at=now,
        created_at=now,
    )
    uow.session.add(account)
    uow.flush()
    uow.session.add(
        StaffRoleGrant(account_id=account.id, role=StaffRole.ADMIN.value, unit=domain.ANY_UNIT, granted_at=now)
    )
    record_audit(uow, None, "staff.first_admin_created", target=account.id, unit=domain.ANY_UNIT)
    uow.commit()
    return account
