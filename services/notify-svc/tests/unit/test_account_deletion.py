"""``account.deleted``: notify-svc removes the account's notifications and mails what was deleted and kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from mai_chassis import Event, FixedClock
from mai_chassis.testing import contract_event
from mai_chassis.testing.fakes import FakeUnitOfWork
from notify.config import Settings
from notify.deps import NotifyDeps, build_deps
from notify.domain import DeliveryStatus
from notify.handlers import ACCOUNT_DELETED, forget_account, record_notification
from notify.tables import Base, DeliveryRow, Notification
from notify.template_registry import TemplateRegistry
from sqlalchemy import select

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PETITION = "ro.mai.petition.submitted.v1"
ANA = "6c1d2a8e-90b4-4f0e-8f59-3b7c9d2e4a11"
ION = "0b6f9a57-2a0e-4c9b-9c1e-7d3f5b2a8e44"


@pytest.fixture
def uow() -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, clock=FixedClock(NOW), source="notify-svc")
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def deps() -> NotifyDeps:
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        public_base_url="https://e-services.mai.gov.ro",
        mail_from="MAI e-services <no-reply@e-services.mai.gov.ro>",
        message_id_domain="notify.example.ro",
    )
    return build_deps(settings, registry=TemplateRegistry(public_base_url=settings.public_base_url))


def _petition_for(citizen_id: str) -> Event:
    return contract_event(PETITION, source="petition-svc", citizen_id=citizen_id)


def test_the_accounts_notifications_go_and_the_mail_about_the_deletion_is_unlinked(
    uow: FakeUnitOfWork, deps: NotifyDeps
) -> None:
    sent = record_notification(uow, deps, _petition_for(ANA))
    pending = record_notification(uow, deps, _petition_for(ANA))
    others = record_notification(uow, deps, _petition_for(ION))
    assert sent and pending and others
    sent.latest_delivery.status = DeliveryStatus.DELIVERED.value
    others.latest_delivery.status = DeliveryStatus.DELIVERED.value
    uow.commit()

    notice = forget_account(uow, deps, contract_event(ACCOUNT_DELETED, source="identity-svc", account_id=ANA))
    uow.commit()

    assert notice is not None and notice.citizen_id is None
    assert notice.subject == "Contul dumneavoastră a fost șters"
    assert uow.session.get(Notification, sent.id) is None
    assert uow.session.scalars(select(DeliveryRow).where(DeliveryRow.notification_id == sent.id)).all() == []
    # Still being delivered: it goes out, unlinked, and the retention job removes it later.
    assert uow.session.get(Notification, pending.id).citizen_id is None
    assert uow.session.get(Notification, others.id).citizen_id == ION
    assert uow.session.scalars(select(Notification.id).where(Notification.citizen_id == ANA)).all() == []
