"""The outbox relay's bookkeeping of acknowledged and unacknowledged rows, with an in-memory producer (SQLite)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mai_chassis import Database, OutboxRelay
from mai_chassis.tables import OutboxEvent
from prometheus_client import REGISTRY
from sqlalchemy import select


class BrokerRefusal(Exception):
    pass


class Delivery:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error is not None:
            raise self.error


class InMemoryProducer:
    """Acknowledges every record except those whose key is refused."""

    def __init__(self, refused_keys: set[str] | None = None) -> None:
        self.config: dict[str, Any] = {"delivery_timeout_ms": 1000}
        self.refused_keys = refused_keys or set()
        self.sent: list[tuple[str, str]] = []

    def send(self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Delivery:
        self.sent.append((topic, key.decode()))
        refused = key.decode() in self.refused_keys
        return Delivery(BrokerRefusal(f"record for {key.decode()} refused") if refused else None)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def add_rows(database: Database, rows: list[tuple[str, str]]) -> None:
    with database.session() as session, session.begin():
        for topic, key in rows:
            session.add(OutboxEvent(event_id=str(uuid.uuid4()), event_type="test", topic=topic, key=key, payload="{}"))


def stored_rows(database: Database) -> dict[str, OutboxEvent]:
    with database.session() as session:
        return {row.key: row for row in session.scalars(select(OutboxEvent))}


def published_count(service: str, topic: str) -> float:
    return REGISTRY.get_sample_value("outbox_published_total", {"service": service, "topic": topic}) or 0.0


def relay_with(database: Database, producer: InMemoryProducer, service: str, batch_size: int = 500) -> OutboxRelay:
    relay = OutboxRelay(database, service=service, bootstrap_servers="unused:9092", batch_size=batch_size)
    relay._producer = producer
    return relay


def test_unacknowledged_rows_stay_pending_with_their_error_and_the_others_are_published(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    service = f"relay-test-{uuid.uuid4().hex[:8]}"
    add_rows(sqlite_database, [("topic.a", "a1"), ("topic.b", "b1"), ("topic.a", "a2"), ("topic.a", "a3")])
    relay = relay_with(sqlite_database, InMemoryProducer(refused_keys={"a2"}), service)

    with caplog.at_level("WARNING", logger="mai_chassis.outbox"):
        published = relay.publish_batch()

    assert published == 3
    rows = stored_rows(sqlite_database)
    assert all(rows[key].published_at is not None for key in ("a1", "b1", "a3"))
    assert all(rows[key].attempts == 0 and rows[key].last_error is None for key in ("a1", "b1", "a3"))
    assert rows["a2"].published_at is None
    assert rows["a2"].attempts == 1
    assert rows["a2"].last_error == "BrokerRefusal: record for a2 refused"
    assert published_count(service, "topic.a") == 2
    assert published_count(service, "topic.b") == 1
    assert "outbox publish failed for 1 of 4 events: BrokerRefusal" in caplog.text
    assert relay._producer is None, "a failed batch replaces the producer"


def test_a_refused_row_is_sent_again_by_the_next_batch_and_counts_each_attempt(sqlite_database: Database) -> None:
    service = f"relay-test-{uuid.uuid4().hex[:8]}"
    add_rows(sqlite_database, [("topic.a", "a1"), ("topic.a", "a2")])
    relay = relay_with(sqlite_database, InMemoryProducer(refused_keys={"a1", "a2"}), service)
    assert relay.publish_batch() == 0
    relay._producer = InMemoryProducer(refused_keys={"a2"})
    assert relay.publish_batch() == 1
    retrying = InMemoryProducer()
    relay._producer = retrying

    assert relay.publish_batch() == 1

    assert retrying.sent == [("topic.a", "a2")]
    rows = stored_rows(sqlite_database)
    assert rows["a1"].published_at is not None and rows["a1"].attempts == 1
    assert rows["a2"].published_at is not None and rows["a2"].attempts == 2
    assert published_count(service, "topic.a") == 2
    assert relay.publish_batch() == 0


def test_a_batch_sends_the_oldest_pending_rows_in_order_up_to_its_size(sqlite_database: Database) -> None:
    service = f"relay-test-{uuid.uuid4().hex[:8]}"
    add_rows(sqlite_database, [("topic.a", f"k{index}") for index in range(5)])
    producer = InMemoryProducer()
    relay = relay_with(sqlite_database, producer, service, batch_size=3)

    assert relay.publish_batch() == 3
    assert relay.publish_batch() == 2

    assert [key for _, key in producer.sent] == ["k0", "k1", "k2", "k3", "k4"]
    assert all(row.published_at is not None for row in stored_rows(sqlite_database).values())
