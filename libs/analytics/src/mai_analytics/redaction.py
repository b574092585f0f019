"""The redaction stream: every declared topic copied to `analytics.<topic>` without personal data.

A chassis :class:`~mai_chassis.consumer.EventConsumer` (its own consumer group, so it inherits the
decoding, the producer check against ``contracts/``, the contract validation, the retries and the
dead letters), whose "handler" publishes the analysts' copy instead of writing to a database:

- every ``x-sealed`` field is removed (a one-time value is nobody's business but notify-svc's);
- every ``x-pii`` value is replaced by a keyed pseudonym (HMAC-SHA-256 with
  ``ANALYTICS_PSEUDONYM_KEY``), stable, so analysts can count distinct citizens without knowing them;
- the envelope keeps the event's id, type, source, subject, time and ``dataschema``, and the message
  keeps its Kafka key (same partitioning, same order per petition or application).

Exactly-once is not promised: a crash between the copy and the offset commit copies the last
second of events again, and the copy carries the original event id so a reader can drop repeats
(the archiver does).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

import mai_contracts
from cloudevents.core.v1.event import CloudEvent
from mai_chassis import UnitOfWork
from mai_chassis.consumer import EventConsumer, _Outcome
from mai_chassis.db import Database
from mai_chassis.events import Event, encode_event
from mai_chassis.producers import discard_producer

__all__ = ["GROUP_ID", "RedactionStream", "redacted_event"]

logger = logging.getLogger(__name__)

SERVICE = "analytics-redactor"
GROUP_ID = "analytics-redactor"


def redacted_event(event: Event, key: bytes) -> CloudEvent:
    """The analysts' copy of one event: same envelope, data pseudonymised and unsealed fields only."""
    attributes: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "time": event.time,
        "datacontenttype": "application/json",
        "dataschema": event.dataschema or mai_contracts.schema_uri(event.type),
    }
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
    return CloudEvent(attributes, mai_contracts.pseudonymise(event.type, event.data, key))


def _never_called(_uow: UnitOfWork, _event: Event) -> None:  # pragma: no cover - routing only
    raise AssertionError("the redaction stream publishes copies; it has no database handler")


class RedactionStream(EventConsumer):
    """Consumes every declared topic and publishes its redacted copy on `analytics.<topic>`."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        pseudonym_key: bytes,
        topic_prefix: str = "",
        group_id: str = GROUP_ID,
        client_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if len(pseudonym_key) < 32:
            raise ValueError("the pseudonym key must be at least 32 bytes")
        handlers = {t.event_type: _never_called for t in mai_contracts.load_topics(include_dlq=False)}
        super().__init__(
            cast(Database, None),  # no database: a repeated copy is recognised by its event id
            service=SERVICE,
            group_id=group_id,
            bootstrap_servers=bootstrap_servers,
            handlers=handlers,
            topic_prefix=topic_prefix,
            consumer_options=client_options,
            **options,
        )
        self._key = pseudonym_key
        self._client_options = self.consumer_options  # the environment's when none were given
        self._producer: Any = None
        self._in_flight: list[Any] = []
        self._message_key: bytes | None = None

    def _handle_message(self, message: Any) -> None:
        self._message_key = message.key
        super()._handle_message(message)

    def _apply_once(self, handler: Any, event: Event, attempt: int) -> _Outcome:
        from mai_chassis import kafka_clients

        if self._producer is None:
            self._producer = kafka_clients.producer(
                self.bootstrap_servers,
                security=self._client_options,
                client_id=SERVICE,
                acks="all",
                enable_idempotence=True,
                linger_ms=20,
                max_block_ms=10000,
                bootstrap_timeout_ms=10000,
            )
        source = mai_contracts.topic_for_event_type(event.type)
        target = self.topic_prefix + mai_contracts.ANALYTICS_PREFIX + source.name
        value = encode_event(redacted_event(event, self._key))
        self._in_flight.append(self._producer.send(target, key=self._message_key, value=value))
        return _Outcome("processed", attempts=attempt)

    def _commit(self, *, force: bool = False) -> None:
        # An offset is committed only once every copy before it is on the broker: a failed copy
        # drops the uncommitted offsets, and the loop reopens the consumer from the last commit.
        if self._in_flight and self._producer is not None:
            self._producer.flush(timeout=30)
            in_flight, self._in_flight = self._in_flight, []
            try:
                for future in in_flight:
                    future.get(timeout=30)
            except Exception:
                self._pending = {}
                raise
        super()._commit(force=force)

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            if self._producer is not None:
                discard_producer(self._producer, what=SERVICE).join(10.0)
                self._producer = None
            self._in_flight = []
