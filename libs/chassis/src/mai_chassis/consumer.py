"""Idempotent Kafka consumer: apply each event once, commit the offset after the database commit.

For each message: decode the CloudEvent (poison → dead letter), check that it came from the
service that owns its topic in ``contracts/`` and is of the topic's event type (anything else is
forged or misrouted → dead letter, the reason in its headers), validate its data against the
contract, then in one transaction record ``(consumer_group, event_id)`` and run the handler. A
duplicate is skipped. Transient errors are retried with exponential backoff; after
``max_attempts`` — or at once for a :class:`PermanentError` — the message goes to
``<topic>.dlq`` with the error in its headers and consumption goes on. The offset is committed
only after the message was applied, skipped or dead-lettered, so a crash re-delivers it and the
processed-events row makes the replay harmless.

Because a replay is harmless, offsets are committed at most once per ``commit_interval`` (1 s) and
when the consumer stops, not after every poll: an offset commit is a broker round trip (6 ms and
0.7 ms of the worker's CPU on the benchmark machine), and at a few events a second each poll
brings one event, so committing per poll cost as much as applying the event. A crash or a
rebalance re-delivers at most that last second of events, which are then skipped as duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mai_contracts
from sqlalchemy.exc import IntegrityError, OperationalError

from . import kafka_clients
from .db import Database
from .events import Event, EventDecodeError, decode_event
from .kafka_clients import client_options
from .logs import bind_context
from .metrics import CONSUMER_LAG, EVENT_PROCESSING_SECONDS, EVENTS_PROCESSED
from .producers import discard_producer
from .tables import ProcessedEvent
from .unit_of_work import UnitOfWork
from .worker import LoopProgress

__all__ = ["DLQ_SUFFIX", "EventConsumer", "Handler", "PermanentError", "UnexpectedProducer"]

logger = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"

Handler = Callable[[UnitOfWork, Event], None]


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help; the event goes straight to the dead letters."""


class UnexpectedProducer(PermanentError):
    """An event whose ``source`` is not the owner of the topic it arrived on, or of another topic's type."""


@dataclass
class _Outcome:
    name: str
    error: BaseException | None = None
    attempts: int = 0


class EventConsumer:
    """Consumes ``handlers``' event types from their topics as one consumer group.

    ``handlers`` maps an event type (``ro.mai.identity.verified.v1``) to a function taking the
    unit of work and the :class:`Event`; the handler must not commit — the consumer commits the
    unit of work together with the processed-event marker.
    """

    def __init__(
        self,
        database: Database,
        *,
        service: str,
        group_id: str,
        bootstrap_servers: str,
        handlers: Mapping[str, Handler],
        topic_prefix: str = "",
        max_attempts: int = 5,
        initial_backoff: float = 0.2,
        max_backoff: float = 10.0,
        poll_timeout_ms: int = 500,
        commit_interval: float = 1.0,
        consumer_options: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.database = database
        self.service = service
        # The prefix isolates a test run's topics and its consumer groups alike (empty in production).
        self.group_id = topic_prefix + group_id
        self.bootstrap_servers = bootstrap_servers
        self.handlers = dict(handlers)
        self.topic_prefix = topic_prefix
        self.topics = sorted({topic_prefix + mai_contracts.topic_for_event_type(t).name for t in self.handlers})
        #: Who may publish on each consumed topic, and what (as declared in contracts/).
        self._declared = {
            topic_prefix + declared.name: declared
            for declared in (mai_contracts.topic_for_event_type(t) for t in self.handlers)
        }
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.poll_timeout_ms = poll_timeout_ms
        self.commit_interval = commit_interval
        #: Security options of both the consumer and its dead-letter producer (the environment's if None).
        self.consumer_options = client_options(consumer_options)
        self._sleep = sleep
        self._consumer: Any = None
        self._dlq_producer: Any = None
        #: monotonic() of the last lag report and offset commit; None until the first one, since
        #: monotonic()'s origin is arbitrary (on Linux the boot: it may be under an interval).
        self._last_lag_report: float | None = None
        #: Offsets applied but not yet committed (partition -> last applied offset).
        self._pending: dict[Any, int] = {}
        self._last_commit: float | None = None
        self._stop: threading.Event | None = None
        #: Stamped after every poll, every message and through every back-off (the worker's liveness).
        self.progress = LoopProgress(f"consumer:{self.group_id}")

    @classmethod
    def of_service(
        cls,
        settings: Any,
        database: Database,
        *,
        handlers: Mapping[str, Handler],
        group_id: str | None = None,
        **options: Any,
    ) -> EventConsumer:
        """The consumer of a service's worker, from its settings (``ServiceSettings``): its name, the
        broker, the topic prefix and the Kafka security options; ``group_id`` is the service's name
        unless given."""
        return cls(
            database,
            service=settings.service_name,
            group_id=group_id or settings.service_name,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            handlers=handlers,
            consumer_options=settings.kafka_client_options,
            **options,
        )

    # -- processing one message (no Kafka here: unit-testable) ---------------------------------

    def process(self, topic: str, value: bytes | None, key: bytes | None) -> _Outcome:
        """Apply one message; returns the outcome (processed, duplicate, ignored or dead_letter)."""
        try:
            event = decode_event(value, key)
        except EventDecodeError as exc:
            return _Outcome("dead_letter", exc)
        refusal = self._check_producer(topic, event)
        if refusal is not None:
            return _Outcome("dead_letter", refusal)
        handler = self.handlers.get(event.type)
        if handler is None:
            return _Outcome("ignored")
        with bind_context(event_id=event.id, traceparent=event.traceparent):
            try:
                mai_contracts.validate(event.type, event.data)
            except ValueError as exc:
                return _Outcome("dead_letter", exc)
            attempt = 0
            while True:
                attempt += 1
                try:
                    return self._apply_once(handler, event, attempt)
                except PermanentError as exc:
                    return _Outcome("dead_letter", exc, attempt)
                except OperationalError as exc:
                    # The database is down: not the event's fault, so it is never dead-lettered
                    # for that. Wait and try again; the offset stays uncommitted meanwhile.
                    if self._stop is not None and self._stop.is_set():
                        raise
                    delay = min(self.max_backoff, self.initial_backoff * 2 ** min(attempt, 6))
                    logger.warning("database unavailable, retrying in %.1fs: %s", delay, exc.__class__.__name__)
                    self.progress.pause(delay, self._sleep)
                except Exception as exc:
                    if attempt >= self.max_attempts:
                        return _Outcome("dead_letter", exc, attempt)
                    delay = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
                    EVENTS_PROCESSED.labels(self.service, self.group_id, topic, "retried").inc()
                    logger.warning(
                        "event %s failed (attempt %d of %d), retrying in %.1fs: %s",
                        event.type,
                        attempt,
                        self.max_attempts,
                        delay,
                        exc.__class__.__name__,
                    )
                    self.progress.pause(delay, self._sleep)

    def _check_producer(self, topic: str, event: Event) -> UnexpectedProducer | None:
        """Why the event must not be trusted on ``topic`` (None when its owner sent its type there)."""
        declared = self._declared.get(topic)
        if declared is None:
            name = topic[len(self.topic_prefix) :] if topic.startswith(self.topic_prefix) else topic
            try:
                declared = mai_contracts.topic(name)
            except (KeyError, LookupError, ValueError):
                return UnexpectedProducer(f"topic {name!r} is not declared in contracts/")
        if event.source != declared.owner:
            return UnexpectedProducer(
                f"source {event.source[:100]!r} is not {declared.owner!r}, the owner of topic {declared.name!r}"
            )
        if event.type != declared.event_type:
            return UnexpectedProducer(f"type {event.type[:200]!r} is not carried by topic {declared.name!r}")
        return None

    def _apply_once(self, handler: Handler, event: Event, attempt: int) -> _Outcome:
        with self.database.unit_of_work(source=self.service, traceparent=event.traceparent) as uow:
            if uow.session.get(ProcessedEvent, (self.group_id, event.id)) is not None:
                return _Outcome("duplicate", attempts=attempt)
            handler(uow, event)
            uow.session.add(ProcessedEvent(consumer_group=self.group_id, event_id=event.id))
            try:
                uow.commit()
            except IntegrityError:
                # Another consumer of the group applied it first (e.g. during a rebalance).
                return _Outcome("duplicate", attempts=attempt)
        return _Outcome("processed", attempts=attempt)

    # -- the Kafka loop --------------------------------------------------------------------------

    def _make_consumer(self) -> Any:
        return kafka_clients.consumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            security=self.consumer_options,
            group_id=self.group_id,
            client_id=f"{self.service}-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            session_timeout_ms=10000,
            heartbeat_interval_ms=3000,
            reconnect_backoff_max_ms=2000,
            bootstrap_timeout_ms=10000,
        )

    def _dead_letter(self, message: Any, outcome: _Outcome) -> None:
        if self._dlq_producer is None:
            # The same user as the consumer: its ACLs allow writing the dead letters of what it reads.
            self._dlq_producer = kafka_clients.producer(
                self.bootstrap_servers,
                security=self.consumer_options,
                client_id=f"{self.service}-dlq",
                acks="all",
                enable_idempotence=True,
                max_block_ms=10000,
                bootstrap_timeout_ms=10000,
            )
        error = outcome.error
        headers = [
            *(message.headers or []),
            ("dlq.error.type", (error.__class__.__name__ if error else "unknown").encode()),
            ("dlq.error.message", str(error)[:2000].encode()),
            ("dlq.original.topic", message.topic.encode()),
            ("dlq.original.partition", str(message.partition).encode()),
            ("dlq.original.offset", str(message.offset).encode()),
            ("dlq.consumer.group", self.group_id.encode()),
            ("dlq.attempts", str(outcome.attempts).encode()),
        ]
        self._dlq_producer.send(message.topic + DLQ_SUFFIX, key=message.key, value=message.value, headers=headers).get(
            timeout=30
        )
        logger.error(
            "dead-lettered %s[%d]@%d after %d attempt(s): %s",
            message.topic,
            message.partition,
            message.offset,
            outcome.attempts,
            error.__class__.__name__ if error else "unknown",
        )

    def _handle_message(self, message: Any) -> None:
        started = time.perf_counter()
        outcome = self.process(message.topic, message.value, message.key)
        if outcome.name == "dead_letter":
            self._dead_letter(message, outcome)
        EVENTS_PROCESSED.labels(self.service, self.group_id, message.topic, _METRIC_OUTCOME[outcome.name]).inc()
        EVENT_PROCESSING_SECONDS.labels(self.service, self.group_id, message.topic).observe(
            time.perf_counter() - started
        )

    def _commit(self, *, force: bool = False) -> None:
        """Commit the offsets after the last applied message of each partition, if due (or forced)."""
        from kafka.structs import OffsetAndMetadata

        if not self._pending:
            return
        if not force and self._last_commit is not None and time.monotonic() - self._last_commit < self.commit_interval:
            return
        # A partition a rebalance gave to another member is left to it: it re-delivers those
        # messages, which its processed-events check skips.
        owned = self._consumer.assignment()
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in self._pending.items() if tp in owned}
        self._pending = {}
        self._last_commit = time.monotonic()
        if offsets:
            self._consumer.commit(offsets)

    def _report_lag(self) -> None:
        now = time.monotonic()
        if self._last_lag_report is not None and now - self._last_lag_report < 10:
            return
        self._last_lag_report = now
        assignment = self._consumer.assignment()
        if not assignment:
            return
        try:
            ends = self._consumer.end_offsets(list(assignment))
            for tp in assignment:
                position = self._consumer.position(tp)
                CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(
                    max(0, ends.get(tp, position) - position)
                )
        except Exception:  # lag is reporting only; the loop must go on
            logger.debug("consumer lag not available", exc_info=True)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; finishes the message in hand, then leaves the group."""
        self._stop = stop
        backoff = 0.5
        logger.info("consumer %s started on %s", self.group_id, ", ".join(self.topics))
        while not stop.is_set():
            self.progress.stamp()
            try:
                if self._consumer is None:
                    self._consumer = self._make_consumer()
                batches = self._consumer.poll(timeout_ms=self.poll_timeout_ms)
                self.progress.stamp()
                # An offset becomes committable once every message before it was applied (or
                # skipped, or dead-lettered) and committed to the database; it is committed within
                # ``commit_interval``. A crash in between re-delivers those messages and the
                # processed-events table turns the replay into no-ops.
                for tp, messages in batches.items():
                    for message in messages:
                        self._handle_message(message)
                        self._pending[tp] = message.offset
                        self.progress.stamp()  # a round of 100 slow messages is long, yet it moves
                        if stop.is_set():
                            break
                    if stop.is_set():
                        break
                self._commit(force=stop.is_set())
                self._report_lag()
                backoff = 0.5
            except Exception as exc:
                logger.warning("consumer %s paused %.1fs: %s: %s", self.group_id, backoff, exc.__class__.__name__, exc)
                self._close()
                self.progress.pause(backoff, stop.wait)
                backoff = min(self.max_backoff, backoff * 2)
        self._close()
        logger.info("consumer %s stopped", self.group_id)

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._commit(force=True)
            except Exception:  # the messages are re-delivered and skipped as duplicates
                logger.debug("offset commit on close failed", exc_info=True)
            self._pending = {}
            try:
                self._consumer.close(autocommit=False)
            except Exception:
                logger.debug("consumer close failed", exc_info=True)
            self._consumer = None
        if self._dlq_producer is not None:
            discard_producer(self._dlq_producer, what=f"{self.service}-dlq").join(10.0)
            self._dlq_producer = None


_METRIC_OUTCOME = {
    "processed": "processed",
    "duplicate": "duplicate",
    "ignored": "ignored",
    "dead_letter": "dead_lettered",
}
