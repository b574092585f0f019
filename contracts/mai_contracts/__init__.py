"""The one declaration of every Kafka topic and event schema of the MAI e-services platform.

Public surface:

    Topic                      a declared topic (or a derived dead-letter topic)
    load_topics(include_dlq)   every topic, in declaration order, dead-letter topics last
    topic(name)                one topic by name                       -> KeyError if unknown
    topic_for_event_type(t)    the topic carrying CloudEvents type t   -> KeyError if unknown
    schema(t) / schema_uri(t)  the data payload's JSON Schema and its $id
    validate(t, data)          -> None, or raises ContractViolation (a ValueError)
    pii_paths(t) / redact(t, data)   fields marked "x-pii", and a copy with them hidden
    sealed_paths(t)            fields marked "x-sealed"
    pseudonymise(t, data, key) the analysts' copy: sealed fields removed, x-pii values keyed pseudonyms
    analytics_topics()         the redacted copies `analytics.<topic>` of every declared topic
    staff_action_topic(owner)  the `<name>.staff_action` topic a service publishes its staff actions on
    staff_action_topics()      all of them (one per service, one shared schema: staff.action.v1)
    kafka_users(prefix)        each service's and stream's broker user with its ACLs (KafkaUser, Grant)
"""

from __future__ import annotations

from ._access import ANALYST, ARCHIVER, REDACTOR, Grant, KafkaUser, kafka_user, kafka_users
from ._schemas import (
    REDACTED,
    ContractViolation,
    pii_paths,
    pseudonym,
    pseudonymise,
    redact,
    schema,
    schema_uri,
    sealed_paths,
    validate,
)
from ._topics import (
    ANALYTICS_PREFIX,
    DLQ_SUFFIX,
    Topic,
    analytics_topics,
    declared_topics,
    find_staff_action_topic,
    find_topic,
    find_topic_for_event_type,
    staff_action_topics,
)

__all__ = [
    "ANALYST",
    "ANALYTICS_PREFIX",
    "ARCHIVER",
    "DLQ_SUFFIX",
    "REDACTED",
    "REDACTOR",
    "ContractViolation",
    "Grant",
    "KafkaUser",
    "Topic",
    "analytics_topics",
    "kafka_user",
    "kafka_users",
    "load_topics",
    "pii_paths",
    "pseudonym",
    "pseudonymise",
    "redact",
    "schema",
    "schema_uri",
    "sealed_paths",
    "staff_action_topic",
    "staff_action_topics",
    "topic",
    "topic_for_event_type",
    "validate",
]


def load_topics(include_dlq: bool = True) -> list[Topic]:
    """Return every declared topic; with include_dlq, the derived `<name>.dlq` topics too."""
    return [t for t in declared_topics() if include_dlq or not t.is_dlq]


def topic(name: str) -> Topic:
    """Return the topic called name, dead-letter and analytics topics included."""
    return find_topic(name)


def topic_for_event_type(event_type: str) -> Topic:
    """Return the topic that carries events of the CloudEvents type event_type."""
    return find_topic_for_event_type(event_type)


def staff_action_topic(owner: str) -> Topic:
    """Return the topic on which the service ``owner`` publishes its staff actions."""
    return find_staff_action_topic(owner)
