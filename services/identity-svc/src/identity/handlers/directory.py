"""The staff directory of a unit: who works there and in which roles, for colleagues of that unit.

A clerk assigns a petition to a colleague by name: the console asks for the unit's members. Only a
member holding some role in the unit (or in every unit) may list it, and only id, name and the
roles held in that unit are given (no e-mail address, no other unit). Disabled accounts are left out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import select

from .. import domain
from ..commands import ListUnitMembers
from ..deps import IdentityDeps
from ..domain import AccountKind
from ..errors import Forbidden
from ..tables import Account, StaffRoleGrant

__all__ = ["list_unit_members"]


def list_unit_members(uow: UnitOfWork, deps: IdentityDeps, query: ListUnitMembers) -> list[dict[str, Any]]:
    """The unit's active members (those holding a role granted in exactly that unit), by name."""
    principal = query.principal
    own_units = {unit for _role, unit in principal.roles} if principal.is_staff else set()
    if query.unit not in own_units and domain.ANY_UNIT not in own_units:
        raise Forbidden("You can list only the members of your own units.")
    statement = (
        select(Account.id, Account.display_name, StaffRoleGrant.role)
        .join(StaffRoleGrant, StaffRoleGrant.account_id == Account.id)
        .where(
            StaffRoleGrant.unit == query.unit,
            Account.kind == AccountKind.STAFF.value,
            Account.disabled_at.is_(None),
        )
        .order_by(Account.display_name, Account.id, StaffRoleGrant.role)
    )
    if query.role is not None:
        statement = statement.where(StaffRoleGrant.role == query.role)
    names: dict[str, str] = {}
    roles: dict[str, list[str]] = defaultdict(list)
    for account_id, name, role in uow.session.execute(statement):
        names[str(account_id)] = name
        roles[str(account_id)].append(role)
    members = [{"staff_id": staff_id, "name": name, "roles": roles[staff_id]} for staff_id, name in names.items()]
    return members[: query.limit]
