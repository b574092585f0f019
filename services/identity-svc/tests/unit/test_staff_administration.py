"""Administrators list the staff of their units and reset a member's lost second factor (handlers alone)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from identity import handlers
from identity.commands import (
    ConfirmTotpEnrolment,
    CreateFirstAdmin,
    CreateStaffAccount,
    LogIn,
    StartTotpEnrolment,
)
from identity.errors import Forbidden, NotFound, OwnSecondFactor
from identity.handlers import SecondFactorChallenge
from identity.handlers.staff_administration import (
    ListStaffAccounts,
    ResetSecondFactor,
    list_staff_accounts,
    reset_second_factor,
)
from identity.tables import RefreshToken, StaffRecoveryCode, StaffSecondFactor
from mai_chassis import Principal
from sqlalchemy import select

pytestmark = pytest.mark.unit

EMAIL, PASSWORD = "ioana.clerk@mai.gov.ro", "a staff password 2026"
OFFICE = "198.51.100.20"


@pytest.fixture
def deps(deps):
    """Production's rule: a staff member without an authenticator may only enrol one."""
    return replace(deps, settings=replace(deps.settings, staff_second_factor="required"))


def _member(uow, deps, admin: Principal, email: str, name: str, *roles: tuple[str, str]) -> str:
    created = handlers.create_staff_account(
        uow, deps, CreateStaffAccount(principal=admin, email=email, name=name, roles=roles)
    )
    return str(created["staff_id"])


def _enrolled_member(uow, deps, clock) -> str:
    """A member (made by the CLI, so with a password) who enrolled an authenticator and is signed in."""
    account = handlers.create_first_admin(uow, deps, CreateFirstAdmin(email=EMAIL, name="Ioana", password=PASSWORD))
    challenge = handlers.log_in(uow, deps, LogIn(email=EMAIL, password=PASSWORD, address=OFFICE))
    enrolment = handlers.start_totp_enrolment(uow, deps, StartTotpEnrolment(challenge_token=challenge.challenge_token))
    handlers.confirm_totp_enrolment(
        uow,
        deps,
        ConfirmTotpEnrolment(
            code=pyotp.TOTP(enrolment.secret).at(clock.now()), address=OFFICE, challenge_token=challenge.challenge_token
        ),
    )
    clock.advance(timedelta(seconds=30))
    return str(account.id)


def test_an_admin_lists_the_members_of_their_units_by_name_with_the_authenticator_state(uow, deps, staff_member):
    national = staff_member("admin@*")
    _member(uow, deps, national, "zoe@mai.gov.ro", "Zoe Popa", ("petition_clerk", "IGPR"))
    _member(
        uow, deps, national, "ana@mai.gov.ro", "Ana Ionescu", ("petition_clerk", "IGPR"), ("phone_operator", "IGPR")
    )
    _member(uow, deps, national, "dan@mai.gov.ro", "Dan Pop", ("counter_clerk", "SPCEP-B1"))

    igpr = list_staff_accounts(uow, deps, ListStaffAccounts(principal=staff_member("admin@IGPR")))
    assert [m["name"] for m in igpr.items] == ["Ana Ionescu", "Zoe Popa"] and igpr.total == 2
    assert igpr.items[0]["roles"] == [
        {"role": "petition_clerk", "unit": "IGPR"},
        {"role": "phone_operator", "unit": "IGPR"},
    ]
    assert igpr.items[0]["second_factor_enrolled"] is False and igpr.items[0]["password_set"] is False

    everyone = list_staff_accounts(uow, deps, ListStaffAccounts(principal=national, per_page=2, page=2))
    assert (everyone.total, [m["name"] for m in everyone.items]) == (3, ["Zoe Popa"])
    one_unit = list_staff_accounts(uow, deps, ListStaffAccounts(principal=national, unit="SPCEP-B1"))
    assert [m["email"] for m in one_unit.items] == ["dan@mai.gov.ro"]


def test_only_admins_list_and_only_the_units_they_administer(uow, deps, staff_member):
    with pytest.raises(Forbidden):
        list_staff_accounts(uow, deps, ListStaffAccounts(principal=staff_member("petition_clerk@IGPR")))
    with pytest.raises(Forbidden):
        list_staff_accounts(uow, deps, ListStaffAccounts(principal=staff_member("admin@IGPR"), unit="SPCEP-B1"))


def test_a_reset_forgets_the_authenticator_and_the_recovery_codes_and_ends_the_sessions(uow, deps, clock, staff_member):
    member_id = _enrolled_member(uow, deps, clock)
    assert uow.session.scalars(select(StaffRecoveryCode)).all()
    admin = staff_member("admin@*")
    commits = uow.commits

    reset_second_factor(uow, deps, ResetSecondFactor(principal=admin, staff_id=member_id, request_id="req-9"))

    assert uow.commits == commits + 1
    assert uow.session.scalars(select(StaffSecondFactor)).all() == []
    assert uow.session.scalars(select(StaffRecoveryCode)).all() == []
    assert all(t.revoked_at is not None for t in uow.session.scalars(select(RefreshToken)))
    [action] = [e.data for e in uow.published if e.type == "ro.mai.identity.staff_action.v1"][-1:]
    assert (action["action"], action["actor"], action["subject"]["id"], action["role"]) == (
        "staff.second_factor_reset",
        admin.subject,
        member_id,
        "admin",
    )
    # The next sign-in may only enrol a new authenticator.
    challenge = handlers.log_in(uow, deps, LogIn(email=EMAIL, password=PASSWORD, address=OFFICE))
    assert isinstance(challenge, SecondFactorChallenge) and challenge.step == "enrolment"


def test_a_reset_is_refused_for_oneself_for_a_member_outside_ones_units_and_for_a_citizen(
    uow, deps, clock, staff_member, register
):
    member_id = _enrolled_member(uow, deps, clock)  # holds admin@*
    citizen_id = str(register())
    commits = uow.commits
    with pytest.raises(Forbidden):
        reset_second_factor(uow, deps, ResetSecondFactor(principal=staff_member("admin@IGPR"), staff_id=member_id))
    with pytest.raises(Forbidden):
        reset_second_factor(
            uow, deps, ResetSecondFactor(principal=staff_member("petition_clerk@*"), staff_id=member_id)
        )
    oneself = Principal(subject=member_id, kind="staff", roles=frozenset({("admin", "*")}))
    with pytest.raises(OwnSecondFactor):
        reset_second_factor(uow, deps, ResetSecondFactor(principal=oneself, staff_id=member_id))
    with pytest.raises(NotFound):
        reset_second_factor(uow, deps, ResetSecondFactor(principal=staff_member("admin@*"), staff_id=citizen_id))
    assert uow.commits == commits
    assert uow.session.scalars(select(StaffSecondFactor)).one().confirmed_at is not None


def test_an_admin_of_a_unit_resets_the_factor_of_a_member_of_that_unit_only(uow, deps, staff_member):
    national = staff_member("admin@*")
    clerk = _member(uow, deps, national, "c@mai.gov.ro", "C", ("petition_clerk", "IGPR"))
    both = _member(uow, deps, national, "b@mai.gov.ro", "B", ("petition_clerk", "IGPR"), ("counter_clerk", "SPCEP-B1"))
    unit_admin = staff_member("admin@IGPR")

    reset_second_factor(uow, deps, ResetSecondFactor(principal=unit_admin, staff_id=clerk))
    with pytest.raises(Forbidden):
        reset_second_factor(uow, deps, ResetSecondFactor(principal=unit_admin, staff_id=both))
    [action] = [e.data for e in uow.published if e.data.get("action") == "staff.second_factor_reset"]
    assert action["unit"] == "IGPR"
