"""Loading the topic declaration (topics.yaml) and deriving the dead-letter topics from it."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, Final, Literal

import yaml

logger = logging.getLogger(__name__)

SERVICES: Final = frozenset({"petition-svc", "identity-svc", "record-svc", "booking-svc", "notify-svc", "audit-svc"})
#: Staff actions: each service publishes them on its own ``<name>.staff_action`` topic (one owner per
#: topic, so the producer check stays exact), all with this one schema.
STAFF_ACTION_SCHEMA: Final = "staff.action.v1.schema.json"
CLASSIFICATIONS: Final = frozenset({"internal", "personal"})
DLQ_SUFFIX: Final = ".dlq"
ANALYTICS_PREFIX: Final = "analytics."
#: The redaction stream writes the analytics topics; it is no domain service, so it never owns a domain topic.
ANALYTICS_PRODUCER: Final = "analytics-redactor"
#: Analysts need history across the petitions' legal cycle and a year-on-year view: 400 days.
ANALYTICS_RETENTION_MS: Final = 400 * 24 * 3600 * 1000

_DECLARATION: Final = "topics.yaml"
_FIELDS: Final = (
    "name",
    "owner",
    "event_type",
    "schema",
    "partitions",
    "replication_factor",
    "min_insync_replicas",
    "key",
    "retention_ms",
    "classification",
    "consumers",
    "description",
)

Classification = Literal["internal", "personal"]


@dataclass(frozen=True, slots=True)
class Topic:
    """One Kafka topic as declared in contracts/ (or derived from one, for a dead-letter topic)."""

    name: str
    owner: str
    event_type: str
    schema_file: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    key: str
    retention_ms: int
    classification: Classification
    consumers: tuple[str, ...]
    description: str
    is_dlq: bool = False
    #: For an analytics topic, the declared topic it is the redacted copy of.
    copy_of: str | None = None


@functools.cache
def declared_topics() -> tuple[Topic, ...]:
    """Return the topics of topics.yaml plus one dead-letter topic each (the redaction stream reads them all)."""
    text = resources.files(__package__).joinpath(_DECLARATION).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("topics"), list):
        raise ValueError(f"{_DECLARATION}: expected a mapping with a 'topics' list")
    dead_letter = document.get("dead_letter") or {}
    suffix = dead_letter.get("suffix", DLQ_SUFFIX)
    if suffix != DLQ_SUFFIX:
        raise ValueError(f"{_DECLARATION}: dead_letter.suffix must be {DLQ_SUFFIX!r}, the design's name")
    dlq_retention_ms = _positive_int(dead_letter.get("retention_ms"), "dead_letter.retention_ms")

    topics = [_parse_topic(entry, index) for index, entry in enumerate(document["topics"])]
    # Every topic has at least one consumer, the analysts' redaction stream, hence a dead-letter topic.
    dead_letters = [_dead_letter_of(t, dlq_retention_ms) for t in topics]
    everything = (*topics, *dead_letters)

    names = [t.name for t in everything]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{_DECLARATION}: topics declared twice: {', '.join(duplicates)}")
    event_types = [t.event_type for t in topics]
    shared = sorted({e for e in event_types if event_types.count(e) > 1})
    if shared:
        raise ValueError(f"{_DECLARATION}: event types on more than one topic: {', '.join(shared)}")
    logger.debug("loaded %d topics (%d dead-letter)", len(everything), len(dead_letters))
    return everything


def _dead_letter_of(source: Topic, floor_retention_ms: int) -> Topic:
    # Same partition count, so a replay keeps each key's messages on one partition, in order.
    return replace(
        source,
        name=source.name + DLQ_SUFFIX,
        retention_ms=max(floor_retention_ms, 2 * source.retention_ms),
        consumers=(),
        description=(
            f"Dead letters of {source.name}: events its consumers gave up on after their retries, "
            "with the error in the message headers."
        ),
        is_dlq=True,
    )


def _parse_topic(entry: Any, index: int) -> Topic:
    where = f"{_DECLARATION}: topics[{index}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping")
    where = f"{_DECLARATION}: topic {entry.get('name', index)!r}"
    missing = [f for f in _FIELDS if f not in entry]
    unknown = sorted(set(entry) - set(_FIELDS))
    if missing or unknown:
        raise ValueError(f"{where}: missing fields {missing}, unknown fields {unknown}")

    owner = entry["owner"]
    consumers = entry["consumers"] or []
    classification = entry["classification"]
    if owner not in SERVICES:
        raise ValueError(f"{where}: owner {owner!r} is not a service")
    if not isinstance(consumers, list) or not set(consumers) <= SERVICES:
        raise ValueError(f"{where}: consumers must be a list of services, got {consumers!r}")
    if classification not in CLASSIFICATIONS:
        raise ValueError(f"{where}: classification must be one of {sorted(CLASSIFICATIONS)}")
    replication_factor = _positive_int(entry["replication_factor"], f"{where}: replication_factor")
    min_insync = _positive_int(entry["min_insync_replicas"], f"{where}: min_insync_replicas")
    if min_insync > replication_factor:
        raise ValueError(f"{where}: min_insync_replicas exceeds replication_factor")
    return Topic(
        name=str(entry["name"]),
        owner=owner,
        event_type=str(entry["event_type"]),
        schema_file=str(entry["schema"]),
        partitions=_positive_int(entry["partitions"], f"{where}: partitions"),
        replication_factor=replication_factor,
        min_insync_replicas=min_insync,
        key=str(entry["key"]),
        retention_ms=_positive_int(entry["retention_ms"], f"{where}: retention_ms"),
        classification=classification,
        consumers=tuple(consumers),
        description=" ".join(str(entry["description"]).split()),
    )


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


@functools.cache
def analytics_topics() -> tuple[Topic, ...]:
    """The analysts' redacted copy `analytics.<name>` of every declared (non dead-letter) topic.

    Written only by the redaction stream (x-pii values pseudonymised, x-sealed fields removed),
    kept 400 days, and read by analysts and the archiver; the same partitions and key as the
    original, so one petition's events stay in order.
    """
    return tuple(
        replace(
            t,
            name=ANALYTICS_PREFIX + t.name,
            owner=ANALYTICS_PRODUCER,
            retention_ms=max(ANALYTICS_RETENTION_MS, t.retention_ms),
            classification="internal",
            consumers=(),
            description=f"Redacted copy of {t.name} for analysts: personal fields pseudonymised, sealed ones removed.",
            copy_of=t.name,
        )
        for t in declared_topics()
        if not t.is_dlq
    )


@functools.cache
def _by_name() -> dict[str, Topic]:
    return {t.name: t for t in (*declared_topics(), *analytics_topics())}


@functools.cache
def _by_event_type() -> dict[str, Topic]:
    return {t.event_type: t for t in declared_topics() if not t.is_dlq}


def find_topic(name: str) -> Topic:
    """Return the topic called name (dead-letter topics included)."""
    try:
        return _by_name()[name]
    except KeyError:
        raise KeyError(f"no topic {name!r} is declared in contracts/") from None


def find_topic_for_event_type(event_type: str) -> Topic:
    """Return the (non dead-letter) topic that carries events of event_type."""
    try:
        return _by_event_type()[event_type]
    except KeyError:
        raise KeyError(f"no topic carries event type {event_type!r}") from None


def find_staff_action_topic(owner: str) -> Topic:
    """The topic on which ``owner`` publishes its staff members' actions (schema staff.action.v1)."""
    for declared in declared_topics():
        if not declared.is_dlq and declared.owner == owner and declared.schema_file == STAFF_ACTION_SCHEMA:
            return declared
    raise KeyError(f"no staff-action topic of {owner!r} is declared in contracts/")


def staff_action_topics() -> tuple[Topic, ...]:
    """Every service's staff-action topic (the audit store consumes them all)."""
    return tuple(t for t in declared_topics() if not t.is_dlq and t.schema_file == STAFF_ACTION_SCHEMA)
