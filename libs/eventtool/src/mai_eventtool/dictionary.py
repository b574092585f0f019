"""The data dictionary of the event streams (Markdown), generated from topics.yaml and the event schemas."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import mai_contracts

__all__ = ["FieldEntry", "field_entries", "render_data_dictionary"]

_HEADER: Final = """\
<!-- Generated from contracts/ by `mai-events dictionary > docs/data-dictionary.md`; do not edit. -->
# Data dictionary: MAI e-services event streams

Every topic carries CloudEvents 1.0 in structured JSON mode. The envelope attributes are the same
on every topic; the `data` fields are listed per topic below. The Kafka key is the aggregate id
named in *Key*. Fields flagged **PII** hold personal data a consumer needs to reach the citizen.
Analysts read each topic's redacted copy `analytics.<topic>` (what `mai-events` reads by default,
kept 400 days and archived to Parquet): there every PII value is a keyed pseudonym (`pn1:...`,
equal for equal values, so people can be counted but not named) and sealed fields are absent.
Operators reading an original topic (`--original`) see PII redacted unless asked otherwise
(`--show-pii`, which warns). There is never a national ID number (CNP), password, token or
confirmation code in any event.

In CSV and Parquet exports a nested field becomes a dotted column (`data.recipient.email`); an
array is one column holding its items as JSON.

## Envelope (every topic)

| Attribute | Type | Description |
|---|---|---|
| `id` | string (uuid) | Unique id of the event; consumers de-duplicate on it. |
| `type` | string | Event type, e.g. `ro.mai.petition.submitted.v1`. |
| `source` | string | Service that published it. |
| `subject` | string | Id of the aggregate the event is about (equal to the Kafka key). |
| `time` | string (date-time) | When it happened. |
| `dataschema` | string (uri) | `$id` of the schema of `data`. |
| `traceparent` | string | W3C trace context of the request that caused it. |
"""


@dataclass(frozen=True)
class FieldEntry:
    """One data field of an event type, as the dictionary lists it."""

    name: str
    type: str
    required: str
    description: str
    pii: bool


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if kind == "array":
        items = schema.get("items") or {}
        item_kind = items.get("type", "any") if isinstance(items, Mapping) else "any"
        return f"array of {item_kind}"
    details = []
    if "format" in schema:
        details.append(str(schema["format"]))
    if "enum" in schema:
        details.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "const" in schema:
        details.append(f"always `{schema['const']}`")
    return f"{kind} ({'; '.join(details)})" if details else str(kind)


def _conditions(schema: Mapping[str, Any]) -> dict[str, str]:
    """Fields required only under a condition (allOf of if/then), with that condition in words."""
    found: dict[str, str] = {}
    for rule in schema.get("allOf") or ():
        condition = rule.get("if") or {}
        then_required = (rule.get("then") or {}).get("required") or ()
        words = [
            f"`{name}` = `{sub['const']}`"
            for name, sub in (condition.get("properties") or {}).items()
            if isinstance(sub, Mapping) and "const" in sub
        ]
        for name in then_required:
            found[name] = "when " + " and ".join(words) if words else "conditionally"
    return found


def _walk(schema: Mapping[str, Any], prefix: str, parent_required: bool) -> Iterator[FieldEntry]:
    required = set(schema.get("required") or ())
    conditional = _conditions(schema)
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        if name in required and parent_required:
            requirement = "yes"
        elif name in conditional and parent_required:
            requirement = conditional[name]
        else:
            requirement = "no"
        yield FieldEntry(
            name=path,
            type=_type_of(sub),
            required=requirement,
            description=" ".join(str(sub.get("description", "")).split()),
            pii=sub.get("x-pii") is True,
        )
        if sub.get("type") == "object":
            yield from _walk(sub, f"{path}.", requirement == "yes")
        items = sub.get("items")
        if sub.get("type") == "array" and isinstance(items, Mapping) and items.get("type") == "object":
            yield from _walk(items, f"{path}[].", requirement == "yes")


def field_entries(event_type: str) -> list[FieldEntry]:
    """Every data field of event_type, nested ones included (`recipient.email`, `documents[].feedback`)."""
    return list(_walk(mai_contracts.schema(event_type), "", True))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _retention(ms: int) -> str:
    days = ms / 86_400_000
    return f"{days:g} days" if days >= 1 else f"{ms / 3_600_000:g} hours"


def render_data_dictionary() -> str:
    """Return the whole data dictionary as Markdown."""
    topics = mai_contracts.load_topics(include_dlq=False)
    lines = [
        _HEADER,
        "## Topics",
        "",
        "| Topic | Owner | Key | Partitions | Retention | Classification | Consumers |",
        "|---|---|---|---|---|---|---|",
    ]
    for topic in topics:
        lines.append(
            f"| [`{topic.name}`](#{topic.name.replace('.', '')}) | {topic.owner} | `{topic.key}` | {topic.partitions} "
            f"| {_retention(topic.retention_ms)} | {topic.classification} | {', '.join(topic.consumers) or '—'} |"
        )
    for topic in topics:
        event_schema = mai_contracts.schema(topic.event_type)
        lines += [
            "",
            f"## {topic.name}",
            "",
            _cell(topic.description),
            "",
            f"- **Event type:** `{topic.event_type}` — schema `contracts/events/{topic.schema_file}`",
            f"- **Owner:** {topic.owner}; **consumers:** {', '.join(topic.consumers) or 'none yet (analysts)'}",
            f"- **Key:** `{topic.key}`; **partitions:** {topic.partitions}; "
            f"**replication:** {topic.replication_factor} (min in-sync {topic.min_insync_replicas})",
            f"- **Retention:** {_retention(topic.retention_ms)}; **classification:** {topic.classification}",
        ]
        if topic.consumers:
            lines.append(f"- **Dead letters:** `{topic.name}{mai_contracts.DLQ_SUFFIX}`")
        lines += ["", "| Field | Type | Required | PII | Description |", "|---|---|---|---|---|"]
        for entry in field_entries(topic.event_type):
            lines.append(
                f"| `{entry.name}` | {_cell(entry.type)} | {entry.required} | {'**PII**' if entry.pii else ''} "
                f"| {_cell(entry.description)} |"
            )
        if event_schema.get("additionalProperties") is False:
            lines += ["", "No other fields are allowed."]
    return "\n".join(lines) + "\n"
