"""notify-svc against the real broker, PostgreSQL and SMTP sink: events in, mails out."""

from __future__ import annotations

import copy
import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import mai_contracts
import pytest
from mai_chassis import Database
from mai_chassis.events import build_event, decode_event, encode_event
from mai_chassis.migrations import upgrade
from mai_chassis.testing import read_events, wait_until
from mai_chassis.worker import run_worker
from notify import create_app
from notify.config import Settings
from notify.deps import build_deps
from notify.service import build_consumer, build_delivery_loops
from notify.tables import DeliveryRow, Notification
from notify.template_registry import TemplateRegistry
from sqlalchemy import func, select

from .conftest import MIGRATIONS, PUBLIC_BASE_URL

pytestmark = pytest.mark.integration

PETITION = "ro.mai.petition.submitted.v1"


@pytest.fixture
def pg_database(database_factory: Callable[..., str]) -> Iterator[Database]:
    url = database_factory("notify")
    upgrade(url, MIGRATIONS)
    db = Database(url, pool_size=4, max_overflow=4)
    yield db
    db.dispose()


@pytest.fixture
def live_settings(pg_database: Database, kafka_bootstrap_servers: str, topic_prefix: str, smtp_sink: Any) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        database_url=pg_database.url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        public_base_url=PUBLIC_BASE_URL,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        smtp_timeout_seconds=2.0,
        mail_from="MAI e-services <no-reply@e-services.mai.gov.ro>",
        delivery_max_attempts=30,
        delivery_retry_base_seconds=0.2,
        delivery_retry_max_seconds=0.5,
        delivery_concurrency=2,
        delivery_idle_seconds=0.1,
    )


@pytest.fixture
def worker(live_settings: Settings, pg_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """notify-svc's worker loops (consumer with a fresh group, delivery loops, outbox relay) in threads."""
    from mai_chassis import OutboxRelay
    from mai_chassis.sealing import generate_key

    monkeypatch.setenv("EVENT_SEALING_KEYS", generate_key())

    deps = build_deps(live_settings, registry=TemplateRegistry(public_base_url=live_settings.public_base_url))
    loops = [
        build_consumer(deps, pg_database, group_id=f"notify-svc-{uuid.uuid4().hex[:8]}"),
        *build_delivery_loops(deps, pg_database),
        OutboxRelay(
            pg_database,
            service="notify-svc",
            bootstrap_servers=live_settings.kafka_bootstrap_servers,
            topic_prefix=live_settings.kafka_topic_prefix,
        ),
    ]
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(loops,), kwargs={"stop": stop, "install_signal_handlers": False}, daemon=True
    )
    thread.start()
    yield
    stop.set()
    thread.join(timeout=40)


@pytest.fixture
def publish(kafka_bootstrap_servers: str, topic_prefix: str) -> Iterator[Callable[..., str]]:
    from mai_chassis import kafka_clients

    producer = kafka_clients.producer(kafka_bootstrap_servers, acks="all")

    def send(
        event_type: str = PETITION, *, raw: bytes | None = None, event_id: str | None = None, **changes: Any
    ) -> str:
        topic = topic_prefix + mai_contracts.topic_for_event_type(event_type).name
        data = copy.deepcopy(mai_contracts.schema(event_type)["examples"][0]) | changes
        key = str(data.get("petition_id", "k"))
        owner = mai_contracts.topic_for_event_type(event_type).owner  # consumers trust only the topic's owner
        event = build_event(event_type, source=owner, subject=key, data=data, event_id=event_id)
        producer.send(topic, key=key.encode(), value=raw if raw is not None else encode_event(event)).get(timeout=10)
        return event.get_id()

    yield send
    producer.close()


def with_message_id(event_id: str) -> Callable[[EmailMessage], bool]:
    return lambda message: message["Message-ID"] == f"<{event_id}@notify.e-services.mai.gov.ro>"


def test_an_event_becomes_one_mail_with_its_number_and_message_id_and_is_announced(
    worker: None,
    publish: Callable[..., str],
    smtp_sink: Any,
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    live_settings: Settings,
    pg_database: Database,
    jwks_url: str,
    token_issuer: Any,
) -> None:
    citizen_id = str(uuid.uuid4())
    event_id = publish(registration_number="IGPR-2025-004711", citizen_id=citizen_id)
    mail = smtp_sink.wait_for(with_message_id(event_id), timeout=30)
    assert mail["Subject"] == "Petiția dvs. a fost înregistrată cu numărul IGPR-2025-004711"
    assert mail["X-Envelope-To"] == "ana.popescu@example.ro"
    assert "IGPR-2025-004711" in mail.get_body(("plain",)).get_content()
    assert "IGPR-2025-004711" in mail.get_body(("html",)).get_content()
    sent = read_events(
        kafka_bootstrap_servers,
        topic_prefix + "notification.sent",
        until=lambda events: any(e.data["trigger_event_id"] == event_id for e in events),
    )
    (announcement,) = [e for e in sent if e.data["trigger_event_id"] == event_id]
    mai_contracts.validate(announcement.type, announcement.data)
    assert "ana.popescu@example.ro" not in str(announcement.data)
    assert announcement.data["citizen_id"] == citizen_id

    # The citizen sees it, delivered, in their list.
    app = create_app(dataclasses.replace(live_settings, jwt_jwks_url=jwks_url), database=pg_database)
    listed = app.test_client().get(
        "/api/v1/notifications", headers={"Authorization": f"Bearer {token_issuer.citizen(citizen_id)}"}
    )
    assert listed.status_code == 200
    (item,) = listed.get_json()["items"]
    assert (item["status"], item["subject"]) == ("delivered", mail["Subject"])


def test_the_same_event_delivered_twice_produces_one_mail(
    worker: None, publish: Callable[..., str], smtp_sink: Any, pg_database: Database
) -> None:
    event_id = str(uuid.uuid4())
    publish(event_id=event_id, registration_number="IGPR-2025-000001")
    publish(event_id=event_id, registration_number="IGPR-2025-000001")
    # Same key, same partition: once the later event is mailed the duplicate was consumed.
    later = publish(registration_number="IGPR-2025-000002")
    smtp_sink.wait_for(with_message_id(later), timeout=30)
    smtp_sink.wait_for(with_message_id(event_id), timeout=10)
    assert len([m for m in smtp_sink.messages() if with_message_id(event_id)(m)]) == 1
    with pg_database.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 2


def test_while_the_mail_server_is_down_the_notification_waits_and_is_delivered_when_it_returns(
    worker: None, publish: Callable[..., str], smtp_sink: Any, pg_database: Database
) -> None:
    smtp_sink.stop()
    event_id = publish(registration_number="IGPR-2025-000777")

    def delivery() -> DeliveryRow | None:
        with pg_database.session() as session:
            return session.scalars(
                select(DeliveryRow).join(Notification).where(Notification.trigger_event_id == event_id)
            ).one_or_none()

    wait_until(lambda: (d := delivery()) is not None and d.status == "temporary-failure", timeout=30,
               what="a temporary failure while the SMTP server is down")  # fmt: skip
    smtp_sink.start()
    smtp_sink.wait_for(with_message_id(event_id), timeout=30)
    final = wait_until(lambda: (d := delivery()) is not None and d.status == "delivered" and d, timeout=10)
    assert final.attempts >= 2


def test_a_poison_message_goes_to_the_dead_letters_and_the_next_event_is_still_mailed(
    worker: None,
    publish: Callable[..., str],
    smtp_sink: Any,
    kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    publish(raw=b"{this is not a CloudEvent")
    event_id = publish(registration_number="IGPR-2025-000888")
    smtp_sink.wait_for(with_message_id(event_id), timeout=30)
    dead = read_events(
        kafka_bootstrap_servers,
        topic_prefix + "petition.submitted.dlq",
        until=lambda records: len(records) >= 1,
        raw=True,
    )
    assert dead[0].value == b"{this is not a CloudEvent"
    headers = dict(dead[0].headers)
    assert headers["dlq.error.type"] == b"EventDecodeError"
    assert headers["dlq.original.topic"] == f"{topic_prefix}petition.submitted".encode()


def test_several_delivery_loops_never_send_one_notification_twice(
    live_settings: Settings, pg_database: Database
) -> None:
    from collections import Counter

    from notify.delivery import DeliveryLoop, DeliveryPolicy
    from notify.handlers import record_notification

    from .conftest import RecordingTransport

    registry = TemplateRegistry(public_base_url=PUBLIC_BASE_URL)
    # One petitioner's 300 receipts: the per-recipient limit is not what this test is about.
    deps = dataclasses.replace(build_deps(live_settings, registry=registry), recipient_limit=None)
    data = mai_contracts.schema(PETITION)["examples"][0]
    with pg_database.unit_of_work(source="notify-svc") as uow:
        for _ in range(300):
            event = build_event(PETITION, source="petition-svc", subject=data["petition_id"], data=data)
            record_notification(uow, deps, decode_event(encode_event(event)))
        uow.commit()
    transports = [RecordingTransport() for _ in range(4)]
    loops = [
        DeliveryLoop(
            pg_database,
            registry=registry,
            transport_factory=lambda transport=transport: transport,
            mail_from="no-reply@e-services.mai.gov.ro",
            policy=DeliveryPolicy(batch_size=10),
        )
        for transport in transports
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,)) for loop in loops]
    for thread in threads:
        thread.start()

    def all_delivered() -> bool:
        with pg_database.session() as session:
            return session.scalar(select(func.count()).where(DeliveryRow.status == "delivered")) == 300

    try:
        wait_until(all_delivered, timeout=60, what="300 deliveries")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    sent = Counter(message["Message-ID"] for transport in transports for message in transport.sent)
    assert len(sent) == 300
    assert max(sent.values()) == 1
    assert sum(1 for transport in transports if transport.sent) > 1  # the work was really shared


def test_an_idle_delivery_loop_claims_nothing_until_a_delivery_is_recorded_then_mails_it_at_once(
    live_settings: Settings, pg_database: Database, smtp_sink: Any
) -> None:
    from notify.delivery import DeliveryLoop, DeliveryPolicy
    from notify.mailer import SmtpMailer

    registry = TemplateRegistry(public_base_url=live_settings.public_base_url)
    # A minute-long idle wait: only the new delivery's notification can wake the loop in time.
    loop = DeliveryLoop(
        pg_database,
        registry=registry,
        transport_factory=lambda: SmtpMailer(host=smtp_sink.host, port=smtp_sink.port, security="none"),
        mail_from=live_settings.mail_from,
        policy=DeliveryPolicy(idle_seconds=0.1, wait_seconds=60.0),
    )
    rounds: list[int] = []
    deliver_due = loop.deliver_due

    def counted() -> int:
        rounds.append(deliver_due())
        return rounds[-1]

    loop.deliver_due = counted  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(rounds) >= 1, timeout=10, what="the loop's first claim")
        threading.Event().wait(2.0)
        assert len(rounds) <= 2, f"an idle delivery loop claimed {len(rounds)} times in 2 s"

        consumer = build_consumer(build_deps(live_settings, registry=registry), pg_database)
        data = copy.deepcopy(mai_contracts.schema(PETITION)["examples"][0])
        event = build_event(PETITION, source="petition-svc", subject=data["petition_id"], data=data)
        assert consumer.process("petition.submitted", encode_event(event), None).name == "processed"
        smtp_sink.wait_for(with_message_id(event.get_id()), timeout=5)
    finally:
        stop.set()
        thread.join(timeout=10)
