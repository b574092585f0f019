"""Events: typed domain events a service publishes, and CloudEvents 1.0 envelopes on the wire.

A service declares its events as past-tense frozen dataclasses in ``<pkg>/events.py``::

    @dataclass(frozen=True)
    class PetitionSubmitted(DomainEvent):
        type: ClassVar[str] = "ro.mai.petition.submitted.v1"
        subject_field: ClassVar[str] = "petition_id"

        petition_id: uuid.UUID
        registration_number: str
        submitted_at: datetime

and publishes them with ``uow.publish(PetitionSubmitted(...))``, which checks ``to_data()``
against the event's JSON Schema in ``contracts/`` before the outbox row is written.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple

import mai_contracts
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

__all__ = [
    "CONTENT_TYPE",
    "DomainEvent",
    "Event",
    "EventDecodeError",
    "OutgoingEvent",
    "Recipient",
    "build_event",
    "decode_event",
    "encode_event",
    "outgoing_event",
]

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


@dataclass(frozen=True)
class Recipient:
    """Whom notify-svc mails about an event, in which language: the contracts' ``recipient`` object
    (its fields are marked ``x-pii``)."""

    email: str
    name: str
    language: str


@dataclass(frozen=True)
class DomainEvent:
    """Base of a service's typed events: something that happened, named in the past tense.

    Subclasses are frozen dataclasses that set ``type`` (the CloudEvents type, which names the
    contract in ``contracts/``) and ``subject_field`` (the field whose value becomes the
    CloudEvents subject and the Kafka key, so that one aggregate's events keep their order).
    """

    type: ClassVar[str]
    subject_field: ClassVar[str]
    #: Fields that the contract makes optional but not nullable: left out of the data when None.
    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    def to_data(self) -> dict[str, Any]:
        """The event's data as JSON-ready values: ISO 8601 dates and UTC instants, UUIDs as strings.

        Every field is kept, ``None`` ones included (as JSON ``null``) unless named in
        ``omitted_when_none``; nested dataclasses become objects, tuples and lists arrays, enums
        their values. Datetimes are written in UTC with a ``Z`` (a naive one, as SQLite returns
        them, is taken to be UTC already).
        """
        return {
            field.name: _json_ready(value)
            for field in dataclasses.fields(self)
            if (value := getattr(self, field.name)) is not None or field.name not in self.omitted_when_none
        }

    def event_subject(self) -> str:
        """The CloudEvents subject (and Kafka key): the value of ``subject_field``, as a string."""
        cls = type(self)
        name = getattr(cls, "subject_field", None)
        if not name or name not in {field.name for field in dataclasses.fields(self)}:
            raise TypeError(f"{cls.__name__}.subject_field must name one of its fields, not {name!r}")
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"{cls.__name__}.{name} is the event's subject and cannot be None")
        return str(_json_ready(value))


def _json_ready(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return instant.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _json_ready(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _json_ready(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_json_ready(item) for item in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    raise TypeError(f"an event field cannot hold a {value.__class__.__name__}")


class OutgoingEvent(NamedTuple):
    """What the outbox needs of an event to publish, whichever way it was given."""

    type: str
    subject: str
    data: dict[str, Any]
    key: str


def outgoing_event(
    event: DomainEvent | str,
    *,
    subject: str | None = None,
    data: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> OutgoingEvent:
    """Normalise both forms of ``publish``: a typed event, or ``(event_type, subject=, data=, key=)``."""
    if isinstance(event, DomainEvent):
        if subject is not None or data is not None or key is not None:
            raise TypeError("publish(DomainEvent) takes no subject, data or key: the event carries them")
        event_type = getattr(type(event), "type", None)
        if not isinstance(event_type, str) or not event_type:
            raise TypeError(f"{type(event).__name__}.type must be the CloudEvents type, e.g. 'ro.mai.x.happened.v1'")
        subject = event.event_subject()
        return OutgoingEvent(event_type, subject, event.to_data(), subject)
    if not isinstance(event, str):
        raise TypeError(f"publish() takes a DomainEvent or an event type, not {event.__class__.__name__}")
    if subject is None or data is None:
        raise TypeError("publish(event_type, ...) needs subject= and data=")
    return OutgoingEvent(event, subject, dict(data), key or subject)


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
