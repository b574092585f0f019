"""A citizen deletes their own account, run on the handlers alone."""

from __future__ import annotations

import pytest
from identity import handlers
from identity.commands import DeleteAccount, LogIn
from identity.errors import Forbidden, PasswordRefused, TooManyFailedLogins
from identity.events import AccountDeleted
from identity.tables import Account, CivilStatusRecord, RefreshToken
from identity_testing import CITIZEN, VALID_CNP
from mai_chassis import Principal
from sqlalchemy import func, select

pytestmark = pytest.mark.unit


def _citizen(account_id: object) -> Principal:
    return Principal(subject=str(account_id), kind="citizen")


def test_deleting_with_the_password_removes_the_account_its_sessions_and_profile_and_tells_every_service(
    uow, deps, register, clock
):
    citizen_id = register()
    other_id = register(email="ion.ionescu@example.ro", first_name="Ion", last_name="Ionescu")
    handlers.log_in(uow, deps, LogIn(email=CITIZEN["email"], password=CITIZEN["password"], address="192.0.2.1"))
    commits = uow.commits

    deletion = handlers.delete_account(
        uow, deps, DeleteAccount(principal=_citizen(citizen_id), password=CITIZEN["password"])
    )

    assert uow.commits == commits + 1
    assert uow.session.get(Account, citizen_id) is None
    assert uow.session.get(CivilStatusRecord, citizen_id) is None
    assert uow.session.scalar(select(func.count()).select_from(RefreshToken)) == 0
    assert uow.session.get(Account, other_id) is not None  # nobody else's account
    [deleted] = uow.events_of(AccountDeleted)
    assert (deleted.account_id, deleted.reason, deleted.deleted_at) == (citizen_id, "citizen_request", clock.now())
    assert deleted.recipient.email == CITIZEN["email"]
    assert VALID_CNP not in repr(deleted.to_data())
    kept = {item.data_class: item for item in deletion.kept}
    assert set(kept) == {"closed-petitions", "expired-certificates"}
    assert kept["closed-petitions"].service == "petition-svc" and "Archives" in kept["closed-petitions"].basis


def test_a_wrong_password_deletes_nothing_and_repeated_ones_slow_the_caller_down(uow, deps, register):
    citizen_id = register()
    before = len(uow.published)

    for _ in range(deps.settings.account_free_failures):
        with pytest.raises(PasswordRefused):
            handlers.delete_account(uow, deps, DeleteAccount(principal=_citizen(citizen_id), password="guess"))
    with pytest.raises((TooManyFailedLogins, PasswordRefused)):
        handlers.delete_account(uow, deps, DeleteAccount(principal=_citizen(citizen_id), password="guess"))
    with pytest.raises(TooManyFailedLogins):
        handlers.delete_account(uow, deps, DeleteAccount(principal=_citizen(citizen_id), password=CITIZEN["password"]))

    assert uow.session.get(Account, citizen_id) is not None
    assert uow.events_of(AccountDeleted) == [] and len(uow.published) == before


def test_a_staff_member_cannot_delete_an_account_here(uow, deps, register, staff_member):
    register()
    with pytest.raises(Forbidden):
        handlers.delete_account(
            uow, deps, DeleteAccount(principal=staff_member("admin@*"), password=CITIZEN["password"])
        )
    assert uow.events_of(AccountDeleted) == []
