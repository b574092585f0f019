"""record_staff_action: a staff handler's one line that puts its action on the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import mai_contracts
import pytest
from mai_chassis.auth import Principal
from mai_chassis.clock import FixedClock
from mai_chassis.staff_actions import AuditSubject, record_staff_action
from mai_chassis.testing.fakes import FakeUnitOfWork
from sqlalchemy import MetaData

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CLERK = Principal(
    subject=str(uuid.uuid4()), kind="staff", roles=frozenset({("petition_clerk", "IGPR"), ("admin", "DGP")})
)
PETITION = AuditSubject("petition", uuid.UUID("0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10"), "IGPR-2026-000001")


def _uow(source: str) -> FakeUnitOfWork:
    return FakeUnitOfWork(MetaData(), clock=FixedClock(AT), source=source)


def test_the_action_goes_on_the_services_own_staff_action_topic_with_the_state_change() -> None:
    uow = _uow("petition-svc")
    with uow:
        record_staff_action(uow, CLERK, action="petition.answer", subject=PETITION, role="petition_clerk")
        uow.commit()

    [published] = uow.published
    assert published.type == "ro.mai.petition.staff_action.v1"
    assert mai_contracts.topic_for_event_type(published.type).owner == "petition-svc"
    assert published.key == published.subject == published.data["action_id"]
    assert {key: value for key, value in published.data.items() if key != "action_id"} == {
        "actor": CLERK.subject,
        "role": "petition_clerk",
        "unit": "IGPR",  # the one unit the clerk holds the role in
        "action": "petition.answer",
        "subject": {"type": "petition", "id": str(PETITION.id), "number": "IGPR-2026-000001"},
        "occurred_at": "2026-03-02T09:30:00Z",
        "outcome": "succeeded",
    }


def test_a_rolled_back_action_leaves_no_audit_record() -> None:
    uow = _uow("record-svc")
    with uow:
        record_staff_action(uow, CLERK.subject, action="certificate.revoke", subject=PETITION, unit="IGPR")
        uow.rollback()
    assert uow.published == []


def test_each_service_has_its_own_topic_and_a_failed_sign_in_is_recorded_without_a_role() -> None:
    uow = _uow("identity-svc")
    with uow:
        record_staff_action(
            uow, CLERK, action="staff.sign_in", subject=AuditSubject("staff_account", CLERK.subject), outcome="failed"
        )
        uow.commit()
    [published] = uow.published
    assert published.type == "ro.mai.identity.staff_action.v1"
    assert (published.data["role"], published.data["unit"], published.data["outcome"]) == (None, None, "failed")


def test_a_service_without_a_staff_action_topic_is_refused_clearly() -> None:
    uow = _uow("portal-svc")
    with uow, pytest.raises(KeyError, match="portal-svc"):
        record_staff_action(uow, CLERK, action="petition.answer", subject=PETITION)


def test_no_unknown_shape_of_action_reaches_the_outbox() -> None:
    uow = _uow("petition-svc")
    with uow, pytest.raises(ValueError, match="action"):
        record_staff_action(uow, CLERK, action="Answer petition!", subject=PETITION)
