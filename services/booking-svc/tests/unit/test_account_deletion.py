"""``account.deleted``: booking-svc forgets the citizen; a booked slot is free again; nobody else changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from booking.documents import FilesystemDocumentStore
from booking.handlers import ACCOUNT_DELETED, forget_account
from booking.tables import ApplicantContact, Application, ApplicationDocument, Appointment, Slot
from mai_chassis import Event
from mai_chassis.testing import contract_event
from sqlalchemy import func, select

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> FilesystemDocumentStore:  # the scans on disk, to see them go
    return FilesystemDocumentStore(tmp_path / "documents")


def _deleted(citizen_id: str) -> Event:
    return contract_event(ACCOUNT_DELETED, source="identity-svc", account_id=citizen_id)


def _count(uow, model, *where) -> int:  # type: ignore[no-untyped-def]
    return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_deleted_account_loses_its_applications_scans_appointments_and_contact(uow, desk, store):
    citizen_id, application_id, appointment = desk.booked()
    other_id, other_application = desk.submitted()
    uow.session.add(
        ApplicantContact(
            citizen_id=citizen_id, email="ana@example.ro", name="Ana", language="ro", verified_at=desk.start
        )
    )
    uow.commit()
    digests = set(uow.session.scalars(select(ApplicationDocument.sha256)))
    slot_id = uow.session.get(Appointment, appointment.id).slot_id
    assert uow.session.get(Slot, slot_id).is_booked

    with uow:
        forget_account(uow, _deleted(citizen_id), store=store)
        uow.commit()
    with uow:
        forget_account(uow, _deleted(citizen_id), store=store)  # a replay finds nothing
        uow.commit()

    assert _count(uow, Application, Application.citizen_id == citizen_id) == 0
    assert _count(uow, Appointment, Appointment.citizen_id == citizen_id) == 0
    assert _count(uow, ApplicationDocument, ApplicationDocument.application_id == application_id) == 0
    assert uow.session.get(ApplicantContact, citizen_id) is None
    assert not uow.session.get(Slot, slot_id).is_booked  # free for somebody else
    # The other applicant's application and scans stay (the same sample file is shared by content).
    assert _count(uow, Application, Application.citizen_id == other_id) == 1
    assert _count(uow, ApplicationDocument, ApplicationDocument.application_id == other_application) > 0
    for digest in digests:
        assert store.path_of(digest).exists()


def test_a_scan_nobody_else_uploaded_is_removed_from_the_store(uow, desk, store):
    citizen_id, _ = desk.submitted()
    digests = set(uow.session.scalars(select(ApplicationDocument.sha256)))
    assert digests and all(store.path_of(digest).exists() for digest in digests)

    with uow:
        forget_account(uow, _deleted(citizen_id), store=store)
        uow.commit()

    assert not any(store.path_of(digest).exists() for digest in digests)
