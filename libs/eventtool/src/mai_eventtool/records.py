"""One Kafka message as an analyst sees it: decoded, checked against its contract, personal data redacted."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import mai_contracts
from mai_chassis.events import EventDecodeError, decode_event

__all__ = [
    "ENVELOPE_COLUMNS",
    "KAFKA_COLUMNS",
    "EventRecord",
    "Undecodable",
    "data_columns",
    "data_fields",
    "flatten_data",
    "flatten_record",
    "record_from_message",
]

ENVELOPE_COLUMNS: Final = ("id", "type", "source", "subject", "time")
KAFKA_COLUMNS: Final = ("kafka_topic", "kafka_partition", "kafka_offset")
CONTRACT_COLUMNS: Final = ("valid", "contract_errors")
DATA_PREFIX: Final = "data."


@dataclass(frozen=True)
class EventRecord:
    """A decoded event with where it was read from and whether it keeps its contract."""

    topic: str
    partition: int
    offset: int
    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    contract_errors: tuple[str, ...] = ()
    redacted: bool = True
    dataschema: str | None = None
    traceparent: str | None = None

    @property
    def valid(self) -> bool:
        return not self.contract_errors

    def as_json(self) -> dict[str, Any]:
        """The JSON-lines shape: envelope attributes, data, Kafka coordinates, contract verdict."""
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.isoformat() if self.time else None,
            "dataschema": self.dataschema,
            "data": self.data,
            "kafka": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
            "valid": self.valid,
            "contract_errors": list(self.contract_errors),
            "redacted": self.redacted,
        }


@dataclass(frozen=True)
class Undecodable:
    """A message that is not a CloudEvent at all (a poison message): reported, never exported as an event."""

    topic: str
    partition: int
    offset: int
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)


def record_from_message(
    topic: str,
    partition: int,
    offset: int,
    value: bytes | None,
    *,
    contract_topic: mai_contracts.Topic,
    show_pii: bool = False,
    pseudonymised: bool = False,
) -> EventRecord | Undecodable:
    """Decode, validate against the contract and (unless show_pii) redact one message value.

    A ``pseudonymised`` message comes from an analytics topic: the redaction stream validated the
    event before copying it and replaced its personal values by pseudonyms (which no longer match
    their formats), so only its type is checked and its data is shown as it is.

    Redaction fails closed: an event whose type is unknown has its whole data hidden, and an
    event that breaks its contract also has every field its schema does not declare hidden,
    since nothing says such a field is free of personal data.
    """
    try:
        event = decode_event(value)
    except EventDecodeError as exc:
        return Undecodable(topic, partition, offset, str(exc))
    if pseudonymised:
        return EventRecord(
            topic=topic,
            partition=partition,
            offset=offset,
            id=event.id,
            type=event.type,
            source=event.source,
            subject=event.subject,
            time=event.time,
            data=event.data if event.type == contract_topic.event_type else {},
            contract_errors=()
            if event.type == contract_topic.event_type
            else (f"event type {event.type[:200]!r} does not belong on {contract_topic.name}",),
            redacted=True,
            dataschema=event.dataschema,
            traceparent=event.traceparent,
        )
    errors: tuple[str, ...] = ()
    known_type = True
    try:
        mai_contracts.topic_for_event_type(event.type)
    except KeyError:
        known_type = False
        errors = (f"unknown event type {event.type!r}",)
    if known_type:
        if event.type != contract_topic.event_type:
            errors = (f"event type {event.type!r} does not belong on {contract_topic.name}",)
        try:
            mai_contracts.validate(event.type, event.data)
        except mai_contracts.ContractViolation as violation:
            errors = (*errors, *violation.errors)
    data = event.data
    if not show_pii:
        if not known_type:
            data = dict.fromkeys(data, mai_contracts.REDACTED)
        else:
            data = mai_contracts.redact(event.type, data)
            if errors:
                data = _redact_undeclared(data, mai_contracts.schema(event.type))
    return EventRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        id=event.id,
        type=event.type,
        source=event.source,
        subject=event.subject,
        time=event.time,
        data=data,
        contract_errors=errors,
        redacted=not show_pii,
        dataschema=event.dataschema,
        traceparent=event.traceparent,
    )


def _redact_undeclared(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        declared = schema.get("properties") or {}
        return {
            name: (_redact_undeclared(item, declared[name]) if name in declared else mai_contracts.REDACTED)
            for name, item in value.items()
        }
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_redact_undeclared(item, schema["items"]) for item in value]
    return value


# -- flat rows (CSV, Parquet) ----------------------------------------------------------------------


def _leaves(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    # Nested objects become dotted columns; arrays stay one column (their items as JSON).
    properties = schema.get("properties")
    if schema.get("type") == "object" and isinstance(properties, Mapping):
        for name, sub in properties.items():
            yield from _leaves(sub, f"{prefix}{name}.")
    else:
        yield prefix.rstrip("."), schema


def data_fields(event_type: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The flat data columns of an event type with their schemas, in schema order."""
    return [(DATA_PREFIX + path, leaf) for path, leaf in _leaves(mai_contracts.schema(event_type))]


def data_columns(event_type: str) -> list[str]:
    """The flat data columns of an event type, in schema order: `data.recipient.email`, ..."""
    return [name for name, _leaf in data_fields(event_type)]


def flatten_data(value: Any, prefix: str, into: dict[str, Any]) -> None:
    """Put value's leaves into `into` as dotted columns under prefix; arrays become JSON text."""
    if isinstance(value, dict) and value:
        for name, item in value.items():
            flatten_data(item, f"{prefix}.{name}", into)
    elif isinstance(value, list | dict):
        into[prefix] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        into[prefix] = value


def flatten_record(record: EventRecord) -> dict[str, Any]:
    """One flat row: envelope, Kafka coordinates, contract verdict, then every data field."""
    row: dict[str, Any] = {
        "id": record.id,
        "type": record.type,
        "source": record.source,
        "subject": record.subject,
        "time": record.time,
        "kafka_topic": record.topic,
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "valid": record.valid,
        "contract_errors": "; ".join(record.contract_errors) or None,
    }
    flatten_data(record.data, "data", row)
    return row
