"""Mails anyone can trigger are limited per recipient address; what goes over is recorded, not sent."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta

import mai_contracts
import pytest
from mai_chassis import Database
from mai_chassis.events import build_event, encode_event
from notify.config import Settings
from notify.delivery import DeliveryLoop, DeliveryPolicy
from notify.deps import build_deps
from notify.domain import ON_DEMAND_EVENT_TYPES
from notify.service import build_consumer
from notify.tables import DeliveryRow, Notification, RecipientMailCount
from notify.template_registry import TemplateRegistry
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from .conftest import RecordingTransport

PETITION = "ro.mai.petition.submitted.v1"
PASSWORD_RESET = "ro.mai.account.password_reset_requested.v1"
CERTIFICATE = "ro.mai.certificate.issued.v1"
#: Each topic accepts its events only from its owner.
OWNERS = {PETITION: "petition-svc", PASSWORD_RESET: "identity-svc", CERTIFICATE: "record-svc"}
TOPICS = {
    PETITION: "petition.submitted",
    PASSWORD_RESET: "account.password_reset_requested",
    CERTIFICATE: "certificate.issued",
}


def event_to(event_type: str, address: str) -> bytes:
    data = copy.deepcopy(mai_contracts.schema(event_type)["examples"][0])
    data["recipient"]["email"] = address
    subject = str(data.get("petition_id") or data.get("certificate_id") or data.get("account_id") or "s")
    return encode_event(build_event(event_type, source=OWNERS[event_type], subject=subject, data=data))


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return dataclasses.replace(settings, recipient_mail_limit=3, recipient_mail_window_seconds=86400)


def consume(settings: Settings, database: Database, registry: TemplateRegistry, event_type: str, address: str) -> None:
    consumer = build_consumer(build_deps(settings, registry=registry), database, sleep=lambda _s: None)
    assert consumer.process(TOPICS[event_type], event_to(event_type, address), None).name == "processed"


def statuses(database: Database, address: str) -> list[str]:
    with database.session() as session:
        rows = session.scalars(
            select(DeliveryRow.status)
            .join(Notification)
            .where(Notification.recipient_email == address)
            .order_by(Notification.created_at, Notification.id)
        ).all()
    return sorted(rows)


def suppressed_count(event_type: str) -> float:
    return (
        REGISTRY.get_sample_value("notifications_suppressed_total", {"service": "notify-svc", "event_type": event_type})
        or 0.0
    )


def test_the_mails_anyone_can_trigger_are_the_registration_reset_and_receipt_ones() -> None:
    assert {PETITION, PASSWORD_RESET, "ro.mai.account.registered.v1"} <= ON_DEMAND_EVENT_TYPES
    assert CERTIFICATE not in ON_DEMAND_EVENT_TYPES
    assert all(mai_contracts.schema(t) for t in ON_DEMAND_EVENT_TYPES)


def test_over_the_limit_an_address_gets_no_more_mails_and_each_one_withheld_is_recorded(
    limited: Settings, database: Database, registry: TemplateRegistry
) -> None:
    before = suppressed_count(PASSWORD_RESET)
    victim = "victima@example.ro"
    for index in range(3):
        consume(limited, database, registry, PETITION, victim if index % 2 else victim.upper())
    for _ in range(2):
        consume(limited, database, registry, PASSWORD_RESET, f" {victim}")
    assert statuses(database, victim) + statuses(database, victim.upper()) + statuses(database, f" {victim}") == sorted(
        ["created"] * 3 + ["suppressed"] * 2
    )
    assert suppressed_count(PASSWORD_RESET) - before == 2

    transport = RecordingTransport()
    loop = DeliveryLoop(
        database,
        registry=registry,
        transport_factory=lambda: transport,
        mail_from="no-reply@e-services.mai.gov.ro",
        policy=DeliveryPolicy(),
    )
    assert loop.deliver_due() == 3
    assert loop.deliver_due() == 0, "a suppressed delivery is final: never sent"
    assert len(transport.sent) == 3


def test_other_addresses_and_mails_that_follow_a_signed_in_act_are_not_limited(
    limited: Settings, database: Database, registry: TemplateRegistry
) -> None:
    for _ in range(4):
        consume(limited, database, registry, PASSWORD_RESET, "flood@example.ro")
    consume(limited, database, registry, PETITION, "someone.else@example.ro")
    for _ in range(4):
        consume(limited, database, registry, CERTIFICATE, "flood@example.ro")
    assert statuses(database, "someone.else@example.ro") == ["created"]
    assert statuses(database, "flood@example.ro") == sorted(["created"] * 7 + ["suppressed"])


def test_the_window_ends_and_the_address_may_be_mailed_again(
    limited: Settings, database: Database, registry: TemplateRegistry
) -> None:
    for _ in range(4):
        consume(limited, database, registry, PETITION, "later@example.ro")
    with database.session() as session, session.begin():
        session.execute(
            update(RecipientMailCount).values(window_started_at=datetime.now(UTC) - timedelta(hours=24, seconds=1))
        )
    consume(limited, database, registry, PETITION, "later@example.ro")
    assert statuses(database, "later@example.ro") == sorted(["created"] * 4 + ["suppressed"])


def test_an_administrator_can_still_resend_a_suppressed_mail(
    limited: Settings, database: Database, registry: TemplateRegistry
) -> None:
    from notify.handlers import ResendNotification, resend_notification

    for _ in range(4):
        consume(limited, database, registry, PETITION, "resend@example.ro")
    with database.session() as session:
        withheld = session.scalars(
            select(Notification).join(DeliveryRow).where(DeliveryRow.status == "suppressed")
        ).one()
    with database.unit_of_work(source="notify-svc") as uow:
        command = ResendNotification(withheld.id, requested_by="admin", admin_units=frozenset({"*"}))
        resent = resend_notification(uow, build_deps(limited, registry=registry), command)
        assert resent.latest_delivery.status == "created"
