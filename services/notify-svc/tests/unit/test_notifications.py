"""notify-svc's handlers on an in-memory unit of work: recording, listing, resending and purging notifications."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import mai_contracts
import pytest
from mai_chassis import Event, FixedClock, PermanentError
from mai_chassis.events import build_event, decode_event, encode_event
from mai_chassis.testing.fakes import FakeUnitOfWork
from notify.config import Settings
from notify.deps import NotifyDeps, build_deps
from notify.domain import RecipientLimit
from notify.errors import DeliveryInProgress, NotificationNotFound, NotificationOutOfScope
from notify.events import NotificationFailed, NotificationSent
from notify.handlers import (
    CitizensNotifications,
    PurgeFinishedNotifications,
    ResendNotification,
    list_citizens_notifications,
    purge_finished_notifications,
    record_notification,
    resend_notification,
)
from notify.tables import Base, Notification
from notify.template_registry import TemplateRegistry

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PETITION = "ro.mai.petition.submitted.v1"
CITIZEN = "6c1d2a8e-90b4-4f0e-8f59-3b7c9d2e4a11"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def uow(clock: FixedClock) -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, clock=clock, source="notify-svc")
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


def petition_submitted(**changes: Any) -> Event:
    data = copy.deepcopy(mai_contracts.schema(PETITION)["examples"][0]) | changes
    envelope = build_event(PETITION, source="petition-svc", subject=data["petition_id"], data=data)
    return decode_event(encode_event(envelope))  # as the consumer receives it


def recorded(uow: FakeUnitOfWork, deps: NotifyDeps, event: Event) -> Notification:
    """Record ``event`` as the consumer does (its unit of work commits after the handler)."""
    notification = record_notification(uow, deps, event)
    assert notification is not None
    uow.commit()
    return notification


def test_an_event_becomes_one_notification_with_a_first_delivery_due_now(uow: FakeUnitOfWork, deps: NotifyDeps) -> None:
    event = petition_submitted(citizen_id=CITIZEN)
    notification = recorded(uow, deps, event)
    assert (notification.citizen_id, notification.trigger_event_id, notification.created_at) == (CITIZEN, event.id, NOW)
    [delivery] = notification.deliveries
    assert (delivery.number, delivery.status, delivery.next_attempt_at) == (1, "created", NOW)
    assert delivery.message_id.endswith("@notify.example.ro>")
    assert record_notification(uow, deps, event) is None  # a replay of the same event adds nothing


def test_an_event_without_a_recipient_goes_to_the_dead_letters(uow: FakeUnitOfWork, deps: NotifyDeps) -> None:
    received = petition_submitted()
    without_recipient = dataclasses.replace(received, data={k: v for k, v in received.data.items() if k != "recipient"})
    with pytest.raises(PermanentError, match="no recipient"):
        record_notification(uow, deps, without_recipient)


def test_past_the_recipient_limit_a_mail_anyone_can_trigger_is_recorded_but_not_sent(
    uow: FakeUnitOfWork, deps: NotifyDeps
) -> None:
    limited = dataclasses.replace(deps, recipient_limit=RecipientLimit(mails=2, window=timedelta(hours=24)))
    statuses = [recorded(uow, limited, petition_submitted()).deliveries[0].status for _ in range(3)]
    assert statuses == ["created", "created", "suppressed"]


def test_a_citizen_pages_through_their_own_notifications_newest_first(
    uow: FakeUnitOfWork, deps: NotifyDeps, clock: FixedClock
) -> None:
    for number in range(3):
        recorded(uow, deps, petition_submitted(citizen_id=CITIZEN, registration_number=f"IGPR-2026-00000{number}"))
        clock.advance(timedelta(minutes=1))
    recorded(uow, deps, petition_submitted())
    first = list_citizens_notifications(uow, deps, CitizensNotifications(CITIZEN, page=1, per_page=2))
    second = list_citizens_notifications(uow, deps, CitizensNotifications(CITIZEN, page=2, per_page=2))
    assert (first.total, len(first.items), len(second.items)) == (3, 2, 1)
    assert [n.event_data["registration_number"] for n in first.items + second.items] == [
        "IGPR-2026-000002",
        "IGPR-2026-000001",
        "IGPR-2026-000000",
    ]


def test_a_finished_delivery_is_resent_as_a_new_delivery_by_an_administrator_of_its_unit(
    uow: FakeUnitOfWork, deps: NotifyDeps, clock: FixedClock
) -> None:
    notification = recorded(uow, deps, petition_submitted(institution="IGPR"))
    command = ResendNotification(notification.id, requested_by="admin-1", admin_units=frozenset({"IGPR"}))
    with pytest.raises(DeliveryInProgress):
        resend_notification(uow, deps, command)
    uow.rollback()
    notification.deliveries[0].status = "permanent-failure"
    uow.commit()
    clock.advance(timedelta(hours=1))
    resent = resend_notification(uow, deps, command)
    assert [(d.number, d.status) for d in resent.deliveries] == [(1, "permanent-failure"), (2, "created")]
    assert (resent.latest_delivery.requested_by, resent.latest_delivery.next_attempt_at) == ("admin-1", clock.now())
    assert uow.commits == 3


def test_a_resend_is_refused_for_another_units_notification_and_for_ids_that_name_none(
    uow: FakeUnitOfWork, deps: NotifyDeps
) -> None:
    notification = recorded(uow, deps, petition_submitted(institution="IGPR"))
    with pytest.raises(NotificationOutOfScope):
        resend_notification(uow, deps, ResendNotification(notification.id, "admin-2", frozenset({"IGSU"})))
    for missing in ("not-an-id", "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotificationNotFound):
            resend_notification(uow, deps, ResendNotification(missing, "admin-1", frozenset({"*"})))


def test_finished_notifications_past_retention_are_purged_and_unfinished_ones_kept(
    uow: FakeUnitOfWork, deps: NotifyDeps, clock: FixedClock
) -> None:
    finished = recorded(uow, deps, petition_submitted())
    finished.deliveries[0].status = "delivered"
    pending = recorded(uow, deps, petition_submitted())
    uow.commit()
    retention = PurgeFinishedNotifications(older_than=timedelta(days=30))
    clock.advance(timedelta(days=29))
    assert purge_finished_notifications(uow, deps, retention) == 0
    clock.advance(timedelta(days=2))
    assert purge_finished_notifications(uow, deps, retention) == 1
    assert uow.session.get(Notification, finished.id) is None
    assert uow.session.get(Notification, pending.id) is not None


def test_delivery_outcomes_are_published_as_their_contracts_say(uow: FakeUnitOfWork) -> None:
    outcome: dict[str, Any] = {
        "notification_id": "0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10",
        "trigger_event_id": "1c7f4d2f-6e5b-4d2c-8b64-3f1f9a7b8c21",
        "trigger_event_type": PETITION,
        "template": PETITION,
        "template_version": 1,
        "language": "ro",
        "delivery": 1,
        "attempts": 2,
    }
    uow.publish(NotificationSent(**outcome, sent_at=NOW))
    uow.publish(NotificationFailed(**outcome, failure="permanent", failed_at=NOW, smtp_status=550))
    uow.publish(NotificationFailed(**outcome, failure="retries_exhausted", failed_at=NOW))
    uow.commit()
    sent, refused, exhausted = (event.data for event in uow.published)
    assert sent["sent_at"] == "2026-03-02T09:00:00Z" and "citizen_id" not in sent
    assert refused["smtp_status"] == 550 and "smtp_status" not in exhausted
