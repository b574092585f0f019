"""Who may do what on the broker, derived from topics.yaml: one Kafka user per service and stream.

A service's user may write the topics it owns, read the topics it consumes (and write their
dead letters, which its consumer produces), and use the consumer groups named after it. The
analysts' redaction stream reads every declared topic and writes the `analytics.` copies; the
archiver reads those copies; the analyst reads them and nothing else. The local provisioning
(`mai-kafka provision`) and the Strimzi `KafkaUser` resources are both made from this, so the ACLs
cannot drift from the declaration.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from ._topics import ANALYTICS_PREFIX, ANALYTICS_PRODUCER, DLQ_SUFFIX, SERVICES, analytics_topics, declared_topics

#: The analysts' user: read-only, on the redacted `analytics.` topics only.
ANALYST: Final = "analyst"
#: The archiver of the redacted topics (Parquet history beyond retention).
ARCHIVER: Final = "analytics-archiver"
#: The redaction stream, which writes the `analytics.` copies.
REDACTOR: Final = ANALYTICS_PRODUCER

#: Topics their owner reads back (without a consumer group): audit-svc checks its own table against
#: the checkpoints it published there (services/audit-svc/README.md).
READ_BACK: Final = frozenset({"audit.checkpoint"})

ResourceType = Literal["topic", "group"]
PatternType = Literal["literal", "prefix"]
Operation = Literal["Read", "Write", "Describe"]


@dataclass(frozen=True, order=True, slots=True)
class Grant:
    """One ACL: ``operation`` allowed on a topic or group named ``name`` (or starting with it)."""

    resource_type: ResourceType
    name: str
    pattern: PatternType
    operation: Operation


@dataclass(frozen=True, slots=True)
class KafkaUser:
    """A broker user and everything it is allowed (nothing else is)."""

    name: str
    description: str
    grants: tuple[Grant, ...]

    def may(self, operation: Operation, resource_type: ResourceType, name: str) -> bool:
        """Whether one of the grants allows ``operation`` on the resource called ``name``."""
        return any(
            g.operation == operation
            and g.resource_type == resource_type
            and (name == g.name if g.pattern == "literal" else name.startswith(g.name))
            for g in self.grants
        )


def _topic_grants(names: Iterable[str], *operations: Operation, prefix: str) -> list[Grant]:
    return [Grant("topic", prefix + name, "literal", op) for name in names for op in operations]


def _group_grants(group: str, prefix: str) -> list[Grant]:
    # A prefix: the service's group and the groups it derives from its name (a test's own group).
    return [Grant("group", prefix + group, "prefix", "Read")]


def _service_user(service: str, prefix: str) -> KafkaUser:
    topics = [t for t in declared_topics() if not t.is_dlq]
    owned = [t.name for t in topics if t.owner == service]
    consumed = [t.name for t in topics if service in t.consumers]
    read_back = [name for name in owned if name in READ_BACK]
    grants = [
        *_topic_grants(owned, "Write", "Describe", prefix=prefix),
        *_topic_grants(read_back, "Read", prefix=prefix),
        *_topic_grants(consumed, "Read", "Describe", prefix=prefix),
        # Its consumer dead-letters what it cannot apply.
        *_topic_grants((name + DLQ_SUFFIX for name in consumed), "Write", "Describe", prefix=prefix),
    ]
    if consumed:
        grants += _group_grants(service, prefix)
    return KafkaUser(
        name=service,
        description=f"{service}: writes the topics it owns, reads those it consumes ({len(consumed)})",
        grants=tuple(sorted(set(grants))),
    )


def _redactor(prefix: str) -> KafkaUser:
    originals = [t.name for t in declared_topics() if not t.is_dlq]
    grants = [
        *_topic_grants(originals, "Read", "Describe", prefix=prefix),
        *_topic_grants((name + DLQ_SUFFIX for name in originals), "Write", "Describe", prefix=prefix),
        *_topic_grants((t.name for t in analytics_topics()), "Write", "Describe", prefix=prefix),
        *_group_grants(REDACTOR, prefix),
    ]
    return KafkaUser(
        name=REDACTOR,
        description="the redaction stream: reads every declared topic, writes its analytics. copy",
        grants=tuple(sorted(set(grants))),
    )


def _archiver(prefix: str) -> KafkaUser:
    grants = [
        *_topic_grants((t.name for t in analytics_topics()), "Read", "Describe", prefix=prefix),
        *_group_grants(ARCHIVER, prefix),
    ]
    return KafkaUser(
        name=ARCHIVER,
        description="the archiver: reads the redacted analytics. topics into Parquet",
        grants=tuple(sorted(set(grants))),
    )


def _analyst(prefix: str) -> KafkaUser:
    grants = [
        Grant("topic", prefix + ANALYTICS_PREFIX, "prefix", "Read"),
        Grant("topic", prefix + ANALYTICS_PREFIX, "prefix", "Describe"),
        *_group_grants(ANALYST, prefix),
    ]
    return KafkaUser(
        name=ANALYST,
        description="analysts: read-only, the redacted analytics. topics and nothing else",
        grants=tuple(sorted(grants)),
    )


@functools.cache
def kafka_users(prefix: str = "") -> tuple[KafkaUser, ...]:
    """Every broker user but the administrator, with its ACLs on topics named ``prefix + name``.

    ``prefix`` is a test run's topic prefix (empty in production).
    """
    return (
        *(_service_user(service, prefix) for service in sorted(SERVICES)),
        _redactor(prefix),
        _archiver(prefix),
        _analyst(prefix),
    )


def kafka_user(name: str, prefix: str = "") -> KafkaUser:
    """The user called ``name`` (a service, the redactor, the archiver or the analyst)."""
    for user in kafka_users(prefix):
        if user.name == name:
            return user
    raise KeyError(f"no Kafka user {name!r} is derived from contracts/")
