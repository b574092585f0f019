"""The citizen's civil-status profile, run on the handlers alone."""

from __future__ import annotations

from datetime import date

import pytest
from identity import handlers
from identity.commands import ReadProfile, UpdateProfile
from identity.errors import InvalidInput, NotFound
from identity.handlers.lookups import aware
from identity.tables import Account, CivilStatusRecord
from identity.testing import OTHER_CNP, VALID_CNP
from mai_chassis import Principal

pytestmark = pytest.mark.unit


def _citizen(account_id: object) -> Principal:
    return Principal(subject=str(account_id), kind="citizen")


def test_a_citizen_reads_their_profile_with_the_cnps_last_digits_only_and_record_svc_the_whole_cnp(uow, deps, register):
    citizen_id = register()

    own = handlers.read_profile(uow, deps, ReadProfile(principal=_citizen(citizen_id), citizen_id="me"))
    assert (own["citizen_id"], own["cnp_last_digits"], own["birth_date"]) == (str(citizen_id), "1144", date(1980, 1, 1))
    assert "cnp" not in own and own["verified"] is False
    for_record = handlers.read_profile(
        uow, deps, ReadProfile(principal=_citizen(citizen_id), citizen_id="me", with_cnp=True)
    )
    assert for_record["cnp"] == VALID_CNP
    assert uow.commits == 2  # the registration and the confirmation: reading commits nothing


def test_nobody_else_sees_a_profile(uow, deps, register, staff_member):
    citizen_id = register()
    other = register(email="ion.ionescu@example.ro")

    for principal in (_citizen(other), staff_member("admin@*")):
        with pytest.raises(NotFound):
            handlers.read_profile(uow, deps, ReadProfile(principal=principal, citizen_id=str(citizen_id)))


def test_an_edit_before_verification_changes_the_record_the_name_and_reseals_a_new_cnp(uow, deps, register, clock):
    citizen_id = register()
    changes = {"first_name": "Maria", "cnp": OTHER_CNP, "address": "Str. Lungă 1, București"}

    view = handlers.update_profile(
        uow, deps, UpdateProfile(principal=_citizen(citizen_id), citizen_id="me", changes=changes)
    )

    assert (view["first_name"], view["birth_date"], view["cnp_last_digits"]) == ("Maria", date(1990, 2, 15), "0014")
    record = uow.session.get(CivilStatusRecord, citizen_id)
    assert OTHER_CNP not in record.cnp_sealed and deps.cipher.open(record.cnp_sealed) == OTHER_CNP
    assert aware(record.updated_at) == clock.now()
    assert uow.session.get(Account, citizen_id).display_name == "Maria Popescu"


def test_a_birth_date_that_contradicts_the_cnp_is_refused_and_nothing_changes(uow, deps, register):
    citizen_id = register()
    commits = uow.commits

    with pytest.raises(InvalidInput) as refused:
        handlers.update_profile(
            uow,
            deps,
            UpdateProfile(principal=_citizen(citizen_id), citizen_id="me", changes={"birth_date": date(1999, 9, 9)}),
        )

    assert list(refused.value.extensions["errors"]) == ["birth_date"]
    assert uow.commits == commits
    assert uow.session.get(CivilStatusRecord, citizen_id).birth_date == date(1980, 1, 1)
