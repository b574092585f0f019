"""One event through a running worker: outbox row → topic, and topic → applied once.

Used by the tests that start a service's worker in a new setting (the images' environment, the
containers themselves): the worker must relay what its service writes into the outbox, and apply
what it consumes exactly once. The events are the contracts' own examples, so every service is
checked with data its handlers accept, and nothing here knows a service's internals beyond the
chassis tables (``outbox_events``, ``processed_events``) every service has.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Roundtrip",
    "applied_count",
    "metric_samples",
    "produce_example",
    "put_example_in_outbox",
    "roundtrip_for",
    "topic_has_event",
]


@dataclass(frozen=True)
class Roundtrip:
    """What one service's worker is checked with: an event it publishes and one it consumes."""

    service: str  # e.g. "booking-svc"
    publishes: str | None  # an event type the service owns (None: it only consumes, as audit-svc)
    consumes: str | None  # an event type it consumes (None: it consumes nothing)

    @property
    def counted_metric(self) -> tuple[str, dict[str, str]]:
        """The worker's metric that shows the round trip happened: published, else applied."""
        if self.publishes:
            return "outbox_published_total", {}
        return "events_processed_total", {"outcome": "processed"}


def roundtrip_for(service: str) -> Roundtrip:
    import mai_contracts

    topics = mai_contracts.load_topics(include_dlq=False)
    owned = [t.event_type for t in topics if t.owner == service]
    consumed = [t.event_type for t in topics if service in t.consumers]
    if not owned and not consumed:
        raise ValueError(f"{service} owns and consumes no topic")
    return Roundtrip(service, owned[0] if owned else None, consumed[0] if consumed else None)


def _example(event_type: str) -> dict[str, Any]:
    import mai_contracts

    examples = mai_contracts.schema(event_type).get("examples") or []
    if not examples:
        raise ValueError(f"the contract of {event_type} has no example")
    return dict(examples[0])


def put_example_in_outbox(database_url: str, service: str, event_type: str) -> str:
    """Write the contract's example of ``event_type`` into the service's outbox; returns the event id."""
    from mai_chassis.db import Database
    from mai_chassis.outbox import add_to_outbox

    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        with database.session() as session:
            event_id = add_to_outbox(
                session,
                event_type=event_type,
                source=service,
                subject=f"roundtrip-{uuid.uuid4().hex[:8]}",
                data=_example(event_type),
                key=str(uuid.uuid4()),
            )
            session.commit()
    finally:
        database.dispose()
    return event_id


def produce_example(bootstrap_servers: str, topic_prefix: str, event_type: str) -> str:
    """Send the contract's example of ``event_type`` to its (prefixed) topic; returns the event id."""
    import mai_contracts
    from mai_chassis import kafka_clients
    from mai_chassis.events import build_event, encode_event

    subject = str(uuid.uuid4())
    # As the topic's owner sends it: consumers dead-letter an event from anyone else.
    owner = mai_contracts.topic_for_event_type(event_type).owner
    event = build_event(event_type, source=owner, subject=subject, data=_example(event_type))
    producer = kafka_clients.producer(bootstrap_servers, acks="all")
    try:
        topic = topic_prefix + mai_contracts.topic_for_event_type(event_type).name
        producer.send(topic, value=encode_event(event), key=subject.encode()).get(timeout=30)
    finally:
        producer.close()
    return str(event.get_id())


def topic_has_event(bootstrap_servers: str, topic_prefix: str, event_type: str, event_id: str) -> int:
    """How many times the event is in its topic (reads from the beginning; waits for at least one)."""
    import mai_contracts
    from mai_chassis.testing import read_events

    topic = topic_prefix + mai_contracts.topic_for_event_type(event_type).name
    events = read_events(
        bootstrap_servers, topic, until=lambda events: any(e.id == event_id for e in events), timeout=60
    )
    return sum(1 for event in events if event.id == event_id)


def applied_count(database_url: str, event_id: str) -> int:
    """How many consumer groups of this database applied the event (its ``processed_events`` rows)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM processed_events WHERE event_id = :id"), {"id": event_id}
                ).scalar_one()
            )
    finally:
        engine.dispose()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def metric_samples(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` in a /metrics text."""
    total = 0.0
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group(3))
    return total
