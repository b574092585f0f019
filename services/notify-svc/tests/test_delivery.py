"""From a consumed event to a delivered (or failed) notification, with a recording mail transport."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta

import mai_contracts
import pytest
from mai_chassis import Database
from mai_chassis.events import build_event, encode_event
from mai_chassis.sealing import Sealer, generate_key
from mai_chassis.tables import OutboxEvent
from notify.config import Settings
from notify.delivery import DeliveryLoop, DeliveryPolicy
from notify.deps import build_deps
from notify.domain import SendOutcome
from notify.mailer import SendResult
from notify.service import build_consumer
from notify.tables import DeliveryRow, Notification
from notify.template_registry import TemplateRegistry
from sqlalchemy import func, select

from .conftest import RecordingTransport

PETITION = "ro.mai.petition.submitted.v1"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)  # events below are recorded "now"

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def petition_event(event_id: str | None = None, **changes: object) -> tuple[str, bytes]:
    data = copy.deepcopy(mai_contracts.schema(PETITION)["examples"][0]) | changes
    event = build_event(PETITION, source="petition-svc", subject=data["petition_id"], data=data, event_id=event_id)
    return event.get_id(), encode_event(event)


def consume(settings: Settings, database: Database, registry: TemplateRegistry, value: bytes) -> str:
    consumer = build_consumer(build_deps(settings, registry=registry), database, sleep=lambda _s: None)
    topic = mai_contracts.topic_for_event_type(json.loads(value)["type"]).name  # the topic it travels on
    return consumer.process(topic, value, None).name


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def loop(database: Database, registry: TemplateRegistry, transport: RecordingTransport, clock: Clock) -> DeliveryLoop:
    return DeliveryLoop(
        database,
        registry=registry,
        transport_factory=lambda: transport,
        mail_from="MAI e-services <no-reply@e-services.mai.gov.ro>",
        policy=DeliveryPolicy(max_attempts=3, retry_base_seconds=10, retry_max_seconds=60, lease_seconds=30),
        clock=clock,
    )


def delivery_of(database: Database, event_id: str) -> DeliveryRow:
    with database.session() as session:
        notification = session.scalars(select(Notification).where(Notification.trigger_event_id == event_id)).one()
        return notification.latest_delivery


def outbox(database: Database) -> list[dict]:
    with database.session() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
        return [json.loads(row.payload) for row in rows]


def test_an_event_becomes_one_created_notification_and_a_replay_adds_nothing(
    settings: Settings, database: Database, registry: TemplateRegistry
) -> None:
    event_id, value = petition_event()
    assert consume(settings, database, registry, value) == "processed"
    assert consume(settings, database, registry, value) == "duplicate"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    delivery = delivery_of(database, event_id)
    assert delivery.status == "created"
    assert delivery.message_id == f"<{event_id}@notify.e-services.mai.gov.ro>"


def test_a_due_notification_is_mailed_delivered_and_announced(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
) -> None:
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    assert loop.deliver_due() == 1
    (mail,) = transport.sent
    assert mail["Message-ID"] == f"<{event_id}@notify.e-services.mai.gov.ro>"
    assert "IGPR-2025-000123" in mail["Subject"]
    assert "IGPR-2025-000123" in mail.get_body(("plain",)).get_content()
    delivery = delivery_of(database, event_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    (sent,) = outbox(database)
    assert sent["type"] == "ro.mai.notification.sent.v1"
    assert sent["data"]["trigger_event_id"] == event_id
    assert "ana.popescu@example.ro" not in json.dumps(sent)
    assert loop.deliver_due() == 0  # nothing left: delivered is final


def test_a_temporary_failure_is_retried_after_its_backoff_and_then_delivered(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
    clock: Clock,
) -> None:
    transport.answers = [SendResult(SendOutcome.TEMPORARY, None, "ConnectionRefusedError")]
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    loop.deliver_due()
    assert delivery_of(database, event_id).status == "temporary-failure"
    clock.advance(5)
    assert loop.deliver_due() == 0  # not due yet
    clock.advance(5)
    assert loop.deliver_due() == 1
    delivery = delivery_of(database, event_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(transport.sent) == 1


def test_temporary_failures_until_attempts_run_out_end_in_failure_published(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
    clock: Clock,
) -> None:
    transport.answers = [SendResult(SendOutcome.TEMPORARY, 451, "SMTPDataError")] * 3
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    for _ in range(3):
        loop.deliver_due()
        clock.advance(120)
    delivery = delivery_of(database, event_id)
    assert (delivery.status, delivery.attempts) == ("permanent-failure", 3)
    (failed,) = outbox(database)
    assert failed["type"] == "ro.mai.notification.failed.v1"
    assert failed["data"]["failure"] == "retries_exhausted"
    assert failed["data"]["smtp_status"] == 451


def test_a_5xx_refusal_fails_at_once_without_retry(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
) -> None:
    transport.answers = [SendResult(SendOutcome.PERMANENT, 550, "recipient refused")]
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    loop.deliver_due()
    delivery = delivery_of(database, event_id)
    assert (delivery.status, delivery.attempts, delivery.smtp_status) == ("permanent-failure", 1, 550)
    assert outbox(database)[0]["data"]["failure"] == "permanent"


def test_an_invalid_address_fails_permanently_without_contacting_the_server(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
) -> None:
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    with database.session() as session, session.begin():
        session.scalars(select(Notification)).one().recipient_email = "ana.popescu@localhost"
    loop.deliver_due()
    assert delivery_of(database, event_id).status == "permanent-failure"
    assert transport.sent == []


def test_a_delivery_whose_worker_died_mid_send_is_taken_over_after_its_lease(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
    clock: Clock,
) -> None:
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    claimed, _ = loop._claim()  # a worker claims it, then dies before recording the outcome
    assert len(claimed) == 1
    assert loop.deliver_due() == 0  # leased: nobody else sends it meanwhile
    clock.advance(31)
    assert loop.deliver_due() == 1
    delivery = delivery_of(database, event_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert transport.sent[0]["Message-ID"] == f"<{event_id}@notify.e-services.mai.gov.ro>"


def test_the_recipients_language_picks_the_template(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
) -> None:
    recipient = {"email": "john.smith@example.com", "name": "John Smith", "language": "en"}
    consume(settings, database, registry, petition_event(str(uuid.uuid4()), recipient=recipient)[1])
    loop.deliver_due()
    assert transport.sent[0]["Subject"].startswith("Your petition was registered")
    assert transport.sent[0]["Content-Language"] == "en"


CONFIRMATION = "ro.mai.account.email_confirmation_requested.v1"


def confirmation_event(sealed_value: str) -> bytes:
    data = copy.deepcopy(mai_contracts.schema(CONFIRMATION)["examples"][0]) | {"sealed_confirmation": sealed_value}
    event = build_event(CONFIRMATION, source="identity-svc", subject=data["citizen_id"], data=data)
    return encode_event(event)


def sealing_loop(database: Database, registry: TemplateRegistry, transport: RecordingTransport, sealer: Sealer,
                 clock: Clock) -> DeliveryLoop:  # fmt: skip
    return DeliveryLoop(
        database,
        registry=registry,
        transport_factory=lambda: transport,
        mail_from="no-reply@e-services.mai.gov.ro",
        policy=DeliveryPolicy(),
        sealer=sealer,
        clock=clock,
    )


def test_a_sealed_code_is_opened_only_into_the_mail_body(
    settings: Settings, database: Database, registry: TemplateRegistry, transport: RecordingTransport, clock: Clock
) -> None:
    sealer = Sealer([generate_key()])
    consume(settings, database, registry, confirmation_event(sealer.seal("K7Q2-M9XA")))
    sealing_loop(database, registry, transport, sealer, clock).deliver_due()
    (mail,) = transport.sent
    assert "K7Q2-M9XA" in mail.get_body(("plain",)).get_content()
    assert "K7Q2-M9XA" in mail.get_body(("html",)).get_content()
    assert "K7Q2-M9XA" not in mail["Subject"]
    with database.session() as session:
        stored = json.dumps([n.event_data for n in session.scalars(select(Notification))])
        assert "K7Q2-M9XA" not in stored  # kept sealed at rest
    assert "K7Q2-M9XA" not in json.dumps(outbox(database))


def test_a_sealed_code_that_cannot_be_opened_fails_the_notification_without_a_mail(
    settings: Settings, database: Database, registry: TemplateRegistry, transport: RecordingTransport, clock: Clock
) -> None:
    sealed_with_another_key = Sealer([generate_key()]).seal("K7Q2-M9XA")
    consume(settings, database, registry, confirmation_event(sealed_with_another_key))
    sealing_loop(database, registry, transport, Sealer([generate_key()]), clock).deliver_due()
    assert transport.sent == []
    (failed,) = outbox(database)
    assert failed["type"] == "ro.mai.notification.failed.v1"
    assert failed["data"]["failure"] == "permanent"


def test_when_the_server_does_not_answer_the_rest_of_the_batch_waits_without_trying(
    settings: Settings,
    database: Database,
    registry: TemplateRegistry,
    loop: DeliveryLoop,
    transport: RecordingTransport,
    clock: Clock,
) -> None:
    transport.answers = [SendResult(SendOutcome.TEMPORARY, None, "ConnectionRefusedError")]
    for _ in range(3):
        consume(settings, database, registry, petition_event()[1])
    assert loop.deliver_due() == 3
    assert transport.answers == []  # the first attempt met the outage...
    assert transport.sent == []  # ...and the other two were not tried (they would have been accepted)
    with database.session() as session:
        statuses = session.scalars(select(DeliveryRow.status)).all()
    assert statuses == ["temporary-failure"] * 3
    clock.advance(10)
    assert loop.deliver_due() == 3
    assert len({mail["Message-ID"] for mail in transport.sent}) == 3


def test_finished_notifications_past_retention_are_purged_and_unfinished_ones_kept(
    settings: Settings, database: Database, registry: TemplateRegistry, loop: DeliveryLoop, clock: Clock
) -> None:
    from mai_chassis import FixedClock
    from notify.handlers import PurgeFinishedNotifications, purge_finished_notifications

    def purge_on(day: datetime) -> int:
        with database.unit_of_work(source="notify-svc", clock=FixedClock(day)) as uow:
            retention = PurgeFinishedNotifications(older_than=timedelta(days=30))
            return purge_finished_notifications(uow, build_deps(settings, registry=registry), retention)

    _, delivered = petition_event()
    consume(settings, database, registry, delivered)
    loop.deliver_due()
    pending_event_id, pending = petition_event()
    consume(settings, database, registry, pending)
    assert purge_on(clock.now + timedelta(days=29)) == 0
    assert purge_on(clock.now + timedelta(days=31)) == 1
    with database.session() as session:
        remaining = session.scalars(select(Notification.trigger_event_id)).all()
        assert remaining == [pending_event_id]
        assert session.scalar(select(func.count()).select_from(DeliveryRow)) == 1


def test_a_delivery_interrupted_on_its_last_attempt_is_given_up_as_retries_exhausted(
    settings: Settings, database: Database, registry: TemplateRegistry, transport: RecordingTransport, clock: Clock
) -> None:
    one_attempt = DeliveryLoop(
        database,
        registry=registry,
        transport_factory=lambda: transport,
        mail_from="no-reply@e-services.mai.gov.ro",
        policy=DeliveryPolicy(max_attempts=1, lease_seconds=30),
        clock=clock,
    )
    event_id, value = petition_event()
    consume(settings, database, registry, value)
    one_attempt._claim()  # its worker dies mid-send
    clock.advance(31)
    assert one_attempt.deliver_due() == 1
    assert transport.sent == []
    assert delivery_of(database, event_id).status == "permanent-failure"
    (failed,) = outbox(database)
    assert failed["data"]["failure"] == "retries_exhausted"
