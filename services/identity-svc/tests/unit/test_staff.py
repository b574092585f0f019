"""Staff accounts, roles and their audit trail, run on the handlers alone."""

from __future__ import annotations

import pytest
from identity import handlers
from identity.commands import CreateFirstAdmin, CreateStaffAccount, GrantRole, RevokeRole
from identity.errors import AccountExists, Forbidden, NotFound
from identity.events import PasswordResetRequested
from identity.tables import Account, StaffAuditEntry
from mai_chassis import Principal
from sqlalchemy import select

pytestmark = pytest.mark.unit


def test_an_admin_creates_a_member_who_is_invited_to_set_a_password(uow, deps, staff_member, clock):
    admin = staff_member("admin@IGPR")

    created = handlers.create_staff_account(
        uow,
        deps,
        CreateStaffAccount(
            principal=admin,
            email="Clerk@MAI.gov.ro",
            name="Ion Clerk",
            roles=(("petition_clerk", "IGPR"), ("petition_clerk", "IGPR")),
            request_id="req-1",
        ),
    )

    assert created["email"] == "clerk@mai.gov.ro" and created["roles"] == [{"role": "petition_clerk", "unit": "IGPR"}]
    assert created["created_at"] == clock.now()
    member = uow.session.scalars(select(Account).where(Account.email == "clerk@mai.gov.ro")).one()
    assert (member.kind, member.password_hash) == ("staff", None)
    [invitation] = uow.events_of(PasswordResetRequested)
    assert invitation.purpose == "staff_invitation" and str(invitation.account_id) == created["staff_id"]
    [entry] = uow.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.action, entry.request_id, str(entry.actor_id)) == ("staff.account_created", "req-1", admin.subject)
    assert uow.commits == 1


def test_an_admin_grants_only_in_their_units_and_an_address_is_taken_once(uow, deps, staff_member):
    admin = staff_member("admin@IGPR")
    command = CreateStaffAccount(
        principal=admin, email="a@mai.gov.ro", name="A", roles=(("petition_clerk", "IGPJ-CJ"),)
    )
    with pytest.raises(Forbidden):
        handlers.create_staff_account(uow, deps, command)

    allowed = CreateStaffAccount(principal=admin, email="a@mai.gov.ro", name="A", roles=(("petition_clerk", "IGPR"),))
    handlers.create_staff_account(uow, deps, allowed)
    with pytest.raises(AccountExists):
        handlers.create_staff_account(uow, deps, allowed)
    assert len(uow.events_of(PasswordResetRequested)) == 1


def test_role_changes_reach_the_audit_trail_as_staff_actions(uow, deps, staff_member):
    admin = staff_member("admin@IGPR")
    member = handlers.create_staff_account(
        uow,
        deps,
        CreateStaffAccount(principal=admin, email="m@mai.gov.ro", name="M", roles=(("petition_clerk", "IGPR"),)),
    )
    staff_id = member["staff_id"]

    granted = handlers.grant_role(
        uow, deps, GrantRole(principal=admin, staff_id=staff_id, role="phone_operator", unit="IGPR")
    )
    assert {"role": "phone_operator", "unit": "IGPR"} in granted["roles"]
    revoked = handlers.revoke_role(
        uow, deps, RevokeRole(principal=admin, staff_id=staff_id, role="petition_clerk", unit="IGPR")
    )
    assert revoked["roles"] == [{"role": "phone_operator", "unit": "IGPR"}]

    trail = [
        (e.data["action"], e.data["unit"], e.data["actor"])
        for e in uow.published
        if e.type.endswith(".staff_action.v1")
    ]
    assert trail == [
        ("staff.account_created", None, admin.subject),
        ("staff.role_granted", "IGPR", admin.subject),
        ("staff.role_revoked", "IGPR", admin.subject),
    ]


def test_roles_belong_to_staff_accounts_only(uow, deps, staff_member, register):
    citizen_id = register()
    with pytest.raises(NotFound):
        handlers.grant_role(
            uow,
            deps,
            GrantRole(principal=staff_member("admin@*"), staff_id=str(citizen_id), role="petition_clerk", unit="IGPR"),
        )


def test_the_first_admin_administers_every_unit_and_cannot_be_created_twice(uow, deps):
    command = CreateFirstAdmin(email="root@mai.gov.ro", name="Root", password="the first admin secret")

    account = handlers.create_first_admin(uow, deps, command)

    assert account.email_confirmed_at is not None and deps.hasher.verify(account.password_hash, command.password)
    [entry] = uow.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.action, entry.unit, entry.actor_id) == ("staff.first_admin_created", "*", None)
    with pytest.raises(AccountExists):
        handlers.create_first_admin(uow, deps, command)


def _member(uow, name: str, *grants: str, disabled: bool = False) -> str:
    """A staff account holding ``role@unit`` grants, written straight to the fake's tables."""
    import uuid

    from identity.tables import StaffRoleGrant

    now = uow.clock.now()
    account = Account(
        id=uuid.uuid4(),
        kind="staff",
        email=f"{uuid.uuid4().hex[:8]}@mai.gov.ro",
        display_name=name,
        created_at=now,
        disabled_at=now if disabled else None,
    )
    uow.session.add(account)
    uow.session.flush()
    for grant in grants:
        role, unit = grant.split("@", 1)
        uow.session.add(StaffRoleGrant(account_id=account.id, role=role, unit=unit, granted_at=now))
    uow.session.flush()
    return str(account.id)


def test_a_unit_lists_its_active_members_with_their_roles_there_to_colleagues_only(uow, deps, staff_member):
    from identity.commands import ListUnitMembers

    maria = _member(uow, "Maria Pop", "petition_clerk@IGPR", "phone_operator@IGPR", "petition_clerk@IGSU")
    ion = _member(uow, "Ion Ene", "petition_clerk@IGPR")
    _member(uow, "Dan Vechi", "petition_clerk@IGPR", disabled=True)
    _member(uow, "Ana Alta", "petition_clerk@IGSU")
    _member(uow, "Admin Central", "admin@*")
    clerk = staff_member("petition_clerk@IGPR")

    listed = handlers.list_unit_members(uow, deps, ListUnitMembers(principal=clerk, unit="IGPR"))

    assert listed == [
        {"staff_id": ion, "name": "Ion Ene", "roles": ["petition_clerk"]},
        {"staff_id": maria, "name": "Maria Pop", "roles": ["petition_clerk", "phone_operator"]},
    ]
    operators = handlers.list_unit_members(
        uow, deps, ListUnitMembers(principal=clerk, unit="IGPR", role="phone_operator")
    )
    assert [m["name"] for m in operators] == ["Maria Pop"]
    for outsider in (staff_member("petition_clerk@IGSU"), Principal(subject="c-1", kind="citizen")):
        with pytest.raises(Forbidden):
            handlers.list_unit_members(uow, deps, ListUnitMembers(principal=outsider, unit="IGPR"))
    everywhere = handlers.list_unit_members(uow, deps, ListUnitMembers(principal=staff_member("admin@*"), unit="IGSU"))
    assert [m["name"] for m in everywhere] == ["Ana Alta", "Maria Pop"]
    assert uow.commits == 0
