"""``account.deleted``: a citizen's petitions stay (correspondence register) but lose the account link."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mai_chassis import Event
from mai_chassis.testing import contract_event
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.handlers.accounts import ACCOUNT_DELETED, unlink_account
from petition.handlers.submission import Sender
from petition.tables import Petition

pytestmark = pytest.mark.unit


def _signed_in(account_id: str) -> Sender:
    return Sender(client_address="192.0.2.7", account_id=account_id, account_kind="citizen")


def _deleted(account_id: str) -> Event:
    return contract_event(ACCOUNT_DELETED, source="identity-svc", account_id=account_id)


def test_the_petitions_of_a_deleted_account_are_kept_unlinked_and_nobody_elses_change(
    uow: FakeUnitOfWork, submit: Callable[..., Any]
) -> None:
    ana, ion = str(uuid.uuid4()), str(uuid.uuid4())
    first = submit(sender=_signed_in(ana))
    second = submit(sender=_signed_in(ana), subject="Alt semafor defect")
    others = submit(sender=_signed_in(ion), name="Ion Ionescu", email="ion@example.ro")

    with uow:
        unlink_account(uow, _deleted(ana))
        uow.commit()
    with uow:
        unlink_account(uow, _deleted(ana))  # a replay changes nothing
        uow.commit()

    for kept in (first, second):
        row = uow.session.get(Petition, kept.id)
        assert row is not None and row.citizen_id is None
        assert row.registration_number == kept.registration_number and row.petitioner_email  # the register stays
    assert uow.session.get(Petition, others.id).citizen_id == ion
