"""Transactional outbox: events are rows written with the state change, then relayed to Kafka."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import mai_contracts
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from . import kafka_clients
from .db import Database
from .events import build_event, encode_event
from .kafka_clients import client_options
from .metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED, CallbackGauge, register_collector
from .producers import discard_producer
from .tables import OutboxEvent
from .wakeup import Wakeup
from .worker import LoopProgress

__all__ = ["DEFAULT_BATCH_SIZE", "OutboxRelay", "add_to_outbox", "outbox_row", "outbox_values", "pending_count"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
#: The channel the outbox table's insert trigger notifies (migration c0002).
OUTBOX_CHANNEL = "mai_outbox"
#: Published rows are kept this long for audits and replays, then removed.
PUBLISHED_RETENTION = timedelta(days=7)


def add_to_outbox(
    session: Session,
    *,
    event_type: str,
    source: str,
    subject: str,
    data: Mapping[str, Any],
    key: str,
    traceparent: str | None = None,
) -> str:
    """Validate and serialise the event now (its id and time are fixed here) and add its row."""
    row = outbox_row(event_type=event_type, source=source, subject=subject, data=data, key=key, traceparent=traceparent)
    session.add(row)
    return row.event_id


def outbox_row(
    *,
    event_type: str,
    source: str,
    subject: str,
    data: Mapping[str, Any],
    key: str,
    traceparent: str | None = None,
) -> OutboxEvent:
    """The outbox row of an event: its topic from ``contracts/``, its data checked against the schema.

    Raises ``KeyError`` for an event type no topic in ``contracts/`` carries and
    ``ContractViolation`` for data that does not match the event's JSON Schema.
    """
    values = outbox_values(
        event_type=event_type, source=source, subject=subject, data=data, key=key, traceparent=traceparent
    )
    return OutboxEvent(**values)


def outbox_values(
    *,
    event_type: str,
    source: str,
    subject: str,
    data: Mapping[str, Any],
    key: str,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """:func:`outbox_row`'s column values, for inserting rows without the ORM (checked alike)."""
    topic = mai_contracts.topic_for_event_type(event_type).name
    event = build_event(event_type, source=source, subject=subject, data=data, traceparent=traceparent)
    return {
        "event_id": event.get_id(),
        "event_type": event_type,
        "topic": topic,
        "key": key,
        "payload": encode_event(event).decode("utf-8"),
    }


def pending_count(database: Database) -> int:
    with database.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))) or 0
        )


class OutboxRelay:
    """Publishes pending outbox rows in order, in batches, with an idempotent ``acks=all`` producer.

    Rows are locked with ``FOR UPDATE SKIP LOCKED``; on PostgreSQL a transaction-scoped advisory
    lock also makes one relay of a service the active one at a time, so events of one key keep
    their order even when several workers run (the others stand by and take over at once).
    A row is marked published only after the broker acknowledged it; anything unacknowledged stays
    pending and is retried, so a broker outage delays events but never loses one.
    """

    def __init__(
        self,
        database: Database,
        *,
        service: str,
        bootstrap_servers: str,
        topic_prefix: str = "",
        batch_size: int = DEFAULT_BATCH_SIZE,
        idle_interval: float = 0.05,
        idle_timeout: float = 1.0,
        max_backoff: float = 5.0,
        producer_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.database = database
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        #: Pause after a partial batch, so that the next one gathers what came meanwhile.
        self.idle_interval = idle_interval
        #: Longest wait for an insert's notification when there was nothing to publish.
        self.idle_timeout = idle_timeout
        self._wakeup = Wakeup(database, OUTBOX_CHANNEL, fallback_interval=idle_interval)
        self.max_backoff = max_backoff
        #: Security options of the producer (the environment's if None).
        self.producer_options = client_options(producer_options)
        self._producer: Any = None
        self._lock_key = _advisory_key(f"outbox:{service}")
        #: monotonic() of the last clean-up; None until the first, which runs at once (monotonic()
        #: counts from boot on Linux: an hour-long interval measured from 0.0 would wait after a reboot).
        self._last_cleanup: float | None = None
        #: Stamped every round, idle or not, and through back-offs (the worker's liveness).
        self.progress = LoopProgress("outbox-relay")
        register_collector(
            CallbackGauge(
                "outbox_pending_events",
                "Outbox events not yet published.",
                {"service": service},
                lambda: pending_count(database),
            )
        )

    def _get_producer(self) -> Any:
        if self._producer is None:
            self._producer = kafka_clients.producer(
                self.bootstrap_servers,
                security=self.producer_options,
                client_id=f"{self.service}-outbox",
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                # Bounded waits: an unreachable broker fails the batch quickly and it is retried.
                bootstrap_timeout_ms=5000,
                max_block_ms=5000,
                request_timeout_ms=10000,
                delivery_timeout_ms=20000,
                reconnect_backoff_max_ms=2000,
            )
        return self._producer

    def _drop_producer(self, wait: float = 0.0) -> None:
        """Replace the producer; unacknowledged rows stay pending and are sent again.

        The old producer closes in the background (see ``mai_chassis.producers``); a record it
        still delivers after this is sent once more by the next batch, which consumers absorb as
        a duplicate event id.
        """
        if self._producer is not None:
            closing = discard_producer(self._producer, what=f"{self.service}-outbox")
            self._producer = None
            if wait:
                closing.join(wait)

    def publish_batch(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        with self.database.session() as session, session.begin():
            if self.database.is_postgresql and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._lock_key}
            ):
                return 0
            # Only the columns sent, as plain rows: no ORM identity map or per-row flush.
            rows = session.execute(
                select(OutboxEvent.seq, OutboxEvent.topic, OutboxEvent.key, OutboxEvent.payload)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            producer = self._get_producer()
            futures = [
                (
                    row,
                    producer.send(
                        self.topic_prefix + row.topic,
                        key=row.key.encode(),
                        value=row.payload.encode(),
                        headers=[("content-type", b"application/cloudevents+json")],
                    ),
                )
                for row in rows
            ]
            producer.flush(timeout=30)
            acknowledged: list[int] = []
            per_topic: dict[str, int] = {}
            unacknowledged: dict[str, list[int]] = {}
            failure: Exception | None = None
            for row, future in futures:
                try:
                    future.get(timeout=30)
                except Exception as exc:
                    # Unacknowledged: stays pending and is sent again. Acknowledged rows of the
                    # same batch are marked published, since sending them again would duplicate.
                    failure = exc
                    unacknowledged.setdefault(f"{exc.__class__.__name__}: {exc}"[:1000], []).append(row.seq)
                    continue
                acknowledged.append(row.seq)
                per_topic[row.topic] = per_topic.get(row.topic, 0) + 1
            # One statement for the acknowledged rows and one per distinct error, in this transaction.
            if acknowledged:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.seq.in_(acknowledged))
                    .values(published_at=datetime.now(UTC))
                    .execution_options(synchronize_session=False)
                )
            for error, seqs in unacknowledged.items():
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.seq.in_(seqs))
                    .values(attempts=OutboxEvent.attempts + 1, last_error=error)
                    .execution_options(synchronize_session=False)
                )
            for topic, count in per_topic.items():
                OUTBOX_PUBLISHED.labels(self.service, topic).inc(count)
            published = len(acknowledged)
            if failure is not None:
                OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                logger.warning(
                    "outbox publish failed for %d of %d events: %s",
                    len(rows) - published,
                    len(rows),
                    failure.__class__.__name__,
                )
                self._drop_producer()
            return published

    def cleanup(self) -> int:
        """Remove rows published longer ago than the retention period."""
        cutoff = datetime.now(UTC) - PUBLISHED_RETENTION
        with self.database.session() as session, session.begin():
            result = session.execute(
                delete(OutboxEvent).where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, backing off while the broker or database is unreachable."""
        backoff = 0.0
        logger.info("outbox relay started for %s", self.service)
        while not stop.is_set():
            self.progress.stamp()
            try:
                published = self.publish_batch()
                backoff = 0.0
                if self._last_cleanup is None or time.monotonic() - self._last_cleanup > 3600:
                    self._last_cleanup = time.monotonic()
                    self.cleanup()
                if published == 0:
                    self._wakeup.wait(self.idle_timeout, stop)
                elif published < self.batch_size:
                    stop.wait(self.idle_interval)
            except Exception as exc:
                backoff = min(self.max_backoff, max(0.25, backoff * 2))
                logger.warning("outbox relay paused %.2fs: %s: %s", backoff, exc.__class__.__name__, exc)
                OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                self._drop_producer()
                self.progress.pause(backoff, stop.wait)
        self._drop_producer(wait=10.0)
        self._wakeup.close()
        logger.info("outbox relay stopped for %s", self.service)


def _advisory_key(name: str) -> int:
    """A stable signed 63-bit key for ``pg_try_advisory_xact_lock``."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1
