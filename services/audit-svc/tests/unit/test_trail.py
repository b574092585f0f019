"""Appending staff actions to the trail, once each, and reading it back as an administrator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from audit.config import Settings
from audit.deps import AuditDeps
from audit.errors import AdminsOnly
from audit.handlers import ReadAuditTrail, VerifyChain, append_staff_action, read_audit_trail, verify_chain
from audit.tables import Base
from mai_chassis import Event
from mai_chassis.auth import Principal
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEPS = AuditDeps(settings=Settings(environment="test", log_json=False))


def _event(source: str, action: str, unit: str, actor: str = "clerk-1", minutes: int = 0) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=f"ro.mai.{source.removesuffix('-svc')}.staff_action.v1",
        source=source,
        subject=None,
        time=None,
        data={
            "action_id": str(uuid.uuid4()),
            "actor": actor,
            "role": "petition_clerk",
            "unit": unit,
            "action": action,
            "subject": {"type": "petition", "id": "p-1", "number": "IGPR-2026-000001"},
            "occurred_at": (AT + timedelta(minutes=minutes)).isoformat(),
            "outcome": "succeeded",
        },
    )


def _admin(*units: str) -> Principal:
    return Principal(subject="admin-1", kind="staff", roles=frozenset(("admin", unit) for unit in units))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(Base.metadata, clock=FixedClock(AT), source="audit-svc")


def test_actions_are_chained_in_arrival_order_and_a_replayed_event_is_appended_once(uow: FakeUnitOfWork) -> None:
    first = _event("petition-svc", "petition.answer", "IGPR")
    with uow:
        append_staff_action(uow, first)
        append_staff_action(uow, _event("record-svc", "certificate.revoke", "DGP", minutes=1))
        assert append_staff_action(uow, first) is None
        uow.commit()
    report = verify_chain(uow, DEPS, VerifyChain())
    assert (report.intact, report.rows_checked) == (True, 2)


def test_an_administrator_reads_the_actions_of_their_units_filtered_and_paged(uow: FakeUnitOfWork) -> None:
    with uow:
        for minute in range(3):
            append_staff_action(uow, _event("petition-svc", "petition.answer", "IGPR", minutes=minute))
        append_staff_action(uow, _event("petition-svc", "petition.assign", "IGPR", actor="clerk-2", minutes=5))
        append_staff_action(uow, _event("record-svc", "certificate.revoke", "DGP", minutes=6))
        uow.commit()

    mine = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=_admin("IGPR")))
    assert {record.unit for record in mine.records} == {"IGPR"} and len(mine.records) == 4

    page = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=_admin("*"), action="petition.answer", limit=2))
    assert [record.seq for record in page.records] == [3, 2] and page.next_before == 2
    rest = read_audit_trail(
        uow, DEPS, ReadAuditTrail(principal=_admin("*"), action="petition.answer", before=page.next_before)
    )
    assert [record.seq for record in rest.records] == [1] and rest.next_before is None

    by_actor = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=_admin("*"), actor_id="clerk-2"))
    assert [record.action for record in by_actor.records] == ["petition.assign"]
    window = read_audit_trail(
        uow,
        DEPS,
        ReadAuditTrail(
            principal=_admin("*"), occurred_from=AT + timedelta(minutes=1), occurred_to=AT + timedelta(minutes=6)
        ),
    )
    assert [record.seq for record in window.records] == [4, 3, 2]


def test_a_staff_member_who_is_no_administrator_is_refused(uow: FakeUnitOfWork) -> None:
    clerk = Principal(subject="clerk-1", kind="staff", roles=frozenset({("petition_clerk", "IGPR")}))
    with pytest.raises(AdminsOnly):
        read_audit_trail(uow, DEPS, ReadAuditTrail(principal=clerk))


def test_an_administrator_filters_by_the_recording_service_and_by_a_case_reference(uow: FakeUnitOfWork) -> None:
    with uow:
        append_staff_action(uow, _event("petition-svc", "petition.answer", "IGPR"))
        append_staff_action(uow, _event("record-svc", "certificate.revoke", "IGPR", minutes=1))
        uow.commit()
    admin = _admin("*")

    by_service = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=admin, service="record-svc"))
    assert [record.action for record in by_service.records] == ["certificate.revoke"]
    by_number = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=admin, reference="IGPR-2026-000001"))
    by_id = read_audit_trail(uow, DEPS, ReadAuditTrail(principal=admin, reference="p-1"))
    assert len(by_number.records) == len(by_id.records) == 2
    assert read_audit_trail(uow, DEPS, ReadAuditTrail(principal=admin, reference="IGPR-2026-00000")).records == []
