"""CloudEvents 1.0 envelopes in structured JSON mode, built and parsed with the cloudevents SDK."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import mai_contracts
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

__all__ = ["CONTENT_TYPE", "Event", "EventDecodeError", "build_event", "decode_event", "encode_event"]

_FORMAT = JSONFormat()
CONTENT_TYPE = JSONFormat.CONTENT_TYPE


class EventDecodeError(ValueError):
    """A Kafka message that is not a valid CloudEvent in structured JSON mode (a poison message)."""


@dataclass(frozen=True)
class Event:
    """A received event: the envelope attributes a consumer needs, and its data."""

    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    traceparent: str | None = None
    dataschema: str | None = None


def build_event(
    event_type: str,
    *,
    source: str,
    subject: str,
    data: Mapping[str, Any],
    traceparent: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Validate ``data`` against the event's contract and wrap it in a CloudEvents 1.0 envelope."""
    mai_contracts.validate(event_type, dict(data))
    attributes: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "source": source,
        "subject": subject,
        "time": time or datetime.now(UTC),
        "datacontenttype": "application/json",
        "dataschema": mai_contracts.schema_uri(event_type),
    }
    if traceparent:
        attributes["traceparent"] = traceparent
    return CloudEvent(attributes, dict(data))


def encode_event(event: CloudEvent) -> bytes:
    """The structured-mode JSON bytes that go into a Kafka message value."""
    message = to_structured(event, _FORMAT)
    return message.value


def decode_event(value: bytes | None, key: bytes | None = None) -> Event:
    """Parse a Kafka message value; raises :class:`EventDecodeError` for anything malformed."""
    if not value:
        raise EventDecodeError("empty message value")
    try:
        parsed = from_structured(
            KafkaMessage(headers={"content-type": CONTENT_TYPE.encode()}, key=None, value=value), _FORMAT, CloudEvent
        )
    except Exception as exc:  # the SDK raises several types for bad input
        raise EventDecodeError(f"not a CloudEvent: {exc.__class__.__name__}: {exc}") from None
    data = parsed.get_data()
    if not isinstance(data, dict):
        raise EventDecodeError("event data is not a JSON object")
    return Event(
        id=parsed.get_id(),
        type=parsed.get_type(),
        source=parsed.get_source(),
        subject=parsed.get_subject(),
        time=parsed.get_time(),
        data=data,
        traceparent=parsed.get_extension("traceparent"),
        dataschema=parsed.get_dataschema(),
    )
