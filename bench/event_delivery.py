"""Outbox relay and idempotent consumer throughput, beside raw kafka-python on the same broker.

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (an admin URL); `make bench` provides both.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import warnings
from typing import Any

warnings.simplefilter("ignore", DeprecationWarning)

import mai_contracts  # noqa: E402
from mai_chassis import Database, EventConsumer, kafka_clients  # noqa: E402
from mai_chassis.migrations import upgrade  # noqa: E402
from mai_chassis.outbox import OutboxRelay, add_to_outbox, pending_count  # noqa: E402
from mai_chassis.testing import create_database, drop_database, ensure_topics  # noqa: E402

from bench.harness import Row, report  # noqa: E402

EVENT_TYPE = "ro.mai.petition.submitted.v1"
TOPIC = "petition.submitted"
RELAY_EVENTS = int(os.environ.get("BENCH_RELAY_EVENTS", "20000"))
CONSUMER_EVENTS = int(os.environ.get("BENCH_CONSUMER_EVENTS", "5000"))


def _data() -> dict[str, Any]:
    return dict(mai_contracts.schema(EVENT_TYPE)["examples"][0], petition_id=str(uuid.uuid4()))


def fill_outbox(database: Database, count: int) -> float:
    """Write ``count`` events through the outbox (validated, serialised) in batches; returns events/s."""
    started = time.perf_counter()
    written = 0
    while written < count:
        with database.unit_of_work(source="petition-svc") as uow:
            for _ in range(min(1000, count - written)):
                data = _data()
                add_to_outbox(
                    uow.session,
                    event_type=EVENT_TYPE,
                    source="petition-svc",  # the topic's owner, as consumers check
                    subject=data["petition_id"],
                    data=data,
                    key=data["petition_id"],
                )
                written += 1
            uow.commit()
    return count / (time.perf_counter() - started)


def raw_produce_rate(servers: str, topic: str, payloads: list[bytes]) -> float:
    producer = kafka_clients.producer(servers, acks="all", enable_idempotence=True, linger_ms=5)
    started = time.perf_counter()
    for i, payload in enumerate(payloads):
        producer.send(topic, key=str(i).encode(), value=payload)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(payloads) / elapsed


def relay_rate(database: Database, servers: str, prefix: str, count: int) -> float:
    relay = OutboxRelay(database, service="bench", bootstrap_servers=servers, topic_prefix=prefix)
    stop = threading.Event()
    started = time.perf_counter()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    while pending_count(database) > 0 and time.perf_counter() - started < 300:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join(timeout=30)
    return count / elapsed


def raw_consume_rate(servers: str, topic: str, count: int) -> float:
    consumer = kafka_clients.consumer(
        topic,
        bootstrap_servers=servers,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    seen = 0
    started = None
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=500).values():
            if started is None:
                started = time.perf_counter()
            seen += len(messages)
    consumer.commit()
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return seen / elapsed if elapsed else 0.0


def consumer_rate(database: Database, servers: str, prefix: str, count: int) -> float:
    applied = {"n": 0}

    def record(uow: Any, event: Any) -> None:
        applied["n"] += 1

    consumer = EventConsumer(
        database,
        service="bench",
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        bootstrap_servers=servers,
        topic_prefix=prefix,
        handlers={EVENT_TYPE: record},
    )
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while applied["n"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started, first = time.perf_counter(), applied["n"]
    while applied["n"] < count and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join(timeout=30)
    return (applied["n"] - first) / elapsed if elapsed else 0.0


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    servers, admin_url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    ensure_topics(servers, [TOPIC, "petition.submitted.dlq"], prefix=prefix)
    url = create_database(admin_url, "bench_delivery")
    try:
        upgrade(url, None)
        database = Database(url)
        write_rate = fill_outbox(database, RELAY_EVENTS)
        with database.session() as session:
            from mai_chassis.tables import OutboxEvent
            from sqlalchemy import select

            payloads = [p.encode() for p in session.scalars(select(OutboxEvent.payload).limit(RELAY_EVENTS))]
        ensure_topics(servers, [TOPIC], prefix=prefix + "raw.")
        raw_rate = raw_produce_rate(servers, prefix + "raw." + TOPIC, payloads)
        relay = relay_rate(database, servers, prefix, RELAY_EVENTS)
        raw_read = raw_consume_rate(servers, prefix + TOPIC, RELAY_EVENTS)
        # The consumer applies each event in its own transaction with its processed-event marker.
        consumed = consumer_rate(database, servers, prefix, min(CONSUMER_EVENTS, RELAY_EVENTS))
        database.dispose()
    finally:
        drop_database(admin_url, url)
    report(
        "event_delivery",
        f"Event delivery ({RELAY_EVENTS} events relayed, {CONSUMER_EVENTS} consumed)",
        [
            Row("outbox write (validate + serialise + insert)", "events/s", write_rate),
            Row("outbox relay publish vs raw produce", "events/s", relay, raw_rate),
            Row("idempotent consumer vs raw consume", "events/s", consumed, raw_read),
        ],
    )


if __name__ == "__main__":
    main()
