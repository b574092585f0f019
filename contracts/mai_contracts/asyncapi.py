"""The AsyncAPI 3.0 description of every topic, generated from topics.yaml and the event schemas.

Run ``python -m mai_contracts.asyncapi > contracts/asyncapi.yaml``; a test fails when the committed
file differs from a fresh generation, so the description cannot drift from the declaration.
Message payloads are the CloudEvents 1.0 envelope with ``data`` referring (by a relative ``$ref``)
to the schema file in ``events/``, which is why the document lives beside that folder.
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import Any, Final

import yaml

from ._schemas import ANY_ITEM, pii_paths, schema, schema_uri
from ._topics import Topic, declared_topics

__all__ = ["ASYNCAPI_VERSION", "KAFKA_BINDING_VERSION", "asyncapi_document", "field_path", "main", "render_asyncapi"]

logger = logging.getLogger(__name__)

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING_VERSION: Final = "0.5.0"
CLOUDEVENTS_CONTENT_TYPE: Final = "application/cloudevents+json"
ENVELOPE_SCHEMA: Final = "CloudEventsEnvelope"
EVENTS_FOLDER: Final = "events"

_HEADER: Final = (
    "# Generated from mai_contracts/topics.yaml and events/*.schema.json by\n"
    "#   python -m mai_contracts.asyncapi > contracts/asyncapi.yaml\n"
    "# Do not edit: change the declaration or a schema and generate again (a test checks it).\n"
)

_DESCRIPTION: Final = (
    "Event streams of the Romanian Ministry of Internal Affairs' citizen e-services: petitions, "
    "citizen accounts and identity verification, criminal-record certificates, immigration "
    "applications and appointments, and notifications.\n\n"
    "Every message is a CloudEvents 1.0 event in structured JSON mode (Kafka header "
    "`content-type: application/cloudevents+json`); its `data` follows the JSON Schema named by "
    "`dataschema`. The Kafka key is the aggregate id, so one aggregate's events stay in order on "
    "one partition. Producers publish through a transactional outbox (at least once, idempotent "
    "producer, acks=all); consumers must treat every event as possibly delivered twice.\n\n"
    "Personal data: there is never a national ID number (CNP), password, token or code in an "
    "event. Fields a consumer truly needs to reach a citizen (an e-mail address, a name, an answer "
    "text) are marked `x-pii: true` in the schemas and listed in each message's `x-pii-fields`; "
    "channels holding them are classified `personal`. Analyst tooling (`mai-events`) redacts them "
    "by default.\n\n"
    "Dead letters: a consumer that gives up on a message after its retries writes it unchanged "
    "to `<topic>.dlq`, with the error in `dlq.*` headers."
)


#: The brokers' authentication, named by every server.
SECURITY_SCHEME = "scramSha512"
#: The analysts' external listener (deploy/k8s/base/kafka/kafka.yaml: listener `analysts`).
ANALYSTS_HOST = "kafka-analysts.eservicii.mai.gov.ro"
ANALYSTS_PORT = 9094


def _channel_id(topic: Topic) -> str:
    """`petition.submitted` -> `petitionSubmitted`; `petition.submitted.dlq` -> `petitionSubmittedDeadLetters`."""
    base = topic.name.removesuffix(".dlq") if topic.is_dlq else topic.name
    words = base.replace("-", ".").replace("_", ".").split(".")
    name = words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return name + "DeadLetters" if topic.is_dlq else name


def _message_id(topic: Topic) -> str:
    version = topic.event_type.rsplit(".", 1)[-1]
    message = _channel_id(topic).removesuffix("DeadLetters") + version.upper()
    return message + "DeadLetter" if topic.is_dlq else message


def _pascal_case(service: str) -> str:
    """`notify-svc` -> `NotifySvc`."""
    return "".join(part.capitalize() for part in service.split("-"))


def field_path(path: tuple[str, ...]) -> str:
    """A schema path as analysts read it: ("documents", "*", "feedback") -> `documents[].feedback`."""
    text = ""
    for part in path:
        text += "[]" if part == ANY_ITEM else ("." if text else "") + part
    return text


def _pii_field_names(event_type: str) -> list[str]:
    return ["data." + field_path(path) for path in pii_paths(event_type)]


def _envelope_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 envelope, structured JSON mode, as every MAI service produces it.",
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0", "description": "CloudEvents specification version."},
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique id of the event; consumers de-duplicate on it.",
            },
            "source": {
                "type": "string",
                "minLength": 1,
                "description": "The service that published the event, e.g. petition-svc.",
            },
            "type": {"type": "string", "description": "Event type, e.g. ro.mai.petition.submitted.v1."},
            "subject": {
                "type": "string",
                "description": "Id of the aggregate the event is about; also the Kafka key.",
            },
            "time": {"type": "string", "format": "date-time", "description": "When the event happened."},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "dataschema": {"type": "string", "format": "uri", "description": "`$id` of the data payload's schema."},
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C Trace Context of the request that caused the event (tracing extension).",
            },
            "data": {"type": "object", "description": "The payload; its schema depends on `type`."},
        },
    }


def _kafka_headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["content-type"],
        "properties": {
            "content-type": {
                "type": "string",
                "const": CLOUDEVENTS_CONTENT_TYPE,
                "description": "Structured-mode CloudEvents marker.",
            }
        },
    }


def _dead_letter_headers_schema() -> dict[str, Any]:
    described = {
        "dlq.error.type": "Class of the error that made the consumer give up, e.g. ContractViolation.",
        "dlq.error.message": "The error message (never an echoed field value; at most 2,000 characters).",
        "dlq.original.topic": "Topic the message was read from.",
        "dlq.original.partition": "Its partition (decimal).",
        "dlq.original.offset": "Its offset (decimal).",
        "dlq.consumer.group": "Consumer group that gave up on it.",
        "dlq.attempts": "How many times the handler was tried (decimal).",
    }
    return {
        "type": "object",
        "required": list(described),
        "properties": {name: {"type": "string", "description": text} for name, text in described.items()},
    }


def _message(topic: Topic) -> dict[str, Any]:
    event_type = topic.event_type
    data_schema = schema(event_type)
    payload = {
        "allOf": [
            {"$ref": f"#/components/schemas/{ENVELOPE_SCHEMA}"},
            {
                "type": "object",
                "properties": {
                    "type": {"const": event_type},
                    "source": {"const": topic.owner},
                    "dataschema": {"const": schema_uri(event_type)},
                    "data": {"$ref": f"{EVENTS_FOLDER}/{topic.schema_file}"},
                },
            },
        ]
    }
    message: dict[str, Any] = {
        "name": event_type,
        "title": f"{topic.name} ({event_type.rsplit('.', 1)[-1]})",
        "summary": str(data_schema.get("description", "")),
        "description": topic.description,
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "headers": _kafka_headers_schema(),
        "payload": payload,
        "correlationId": {"description": "The CloudEvents id of the event.", "location": "$message.payload#/id"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "format": "uuid",
                    "description": f"The {topic.key} of the aggregate (equal to the event's subject).",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-classification": topic.classification,
        "x-pii-fields": _pii_field_names(event_type),
    }
    examples = []
    for index, example in enumerate(data_schema.get("examples") or []):
        subject = str(example.get(topic.key, "")) if isinstance(example, dict) else ""
        examples.append(
            {
                "name": f"example{index + 1}",
                "headers": {"content-type": CLOUDEVENTS_CONTENT_TYPE},
                "payload": {
                    "specversion": "1.0",
                    "id": f"00000000-0000-4000-8000-{index + 1:012d}",
                    "source": topic.owner,
                    "type": event_type,
                    "subject": subject,
                    "time": "2025-03-14T10:00:00Z",
                    "datacontenttype": "application/json",
                    "dataschema": schema_uri(event_type),
                    "data": example,
                },
            }
        )
    if examples:
        message["examples"] = examples
    return message


def _dead_letter_message(topic: Topic) -> dict[str, Any]:
    source_message = _message_id(topic).removesuffix("DeadLetter")
    return {
        "name": f"{topic.event_type} dead letter",
        "title": f"Dead letter of {topic.name.removesuffix('.dlq')}",
        "summary": "A message a consumer gave up on, kept byte for byte with the error in its headers.",
        "description": (
            f"Normally a `{topic.event_type}` CloudEvent (see message `{source_message}`); a poison message "
            "that could not be parsed at all is kept exactly as it arrived."
        ),
        "headers": _dead_letter_headers_schema(),
        "payload": {"description": "The original message value, unchanged."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original message's key, unchanged."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-classification": topic.classification,
        "x-pii-fields": _pii_field_names(topic.event_type),
    }


def _channel(topic: Topic) -> dict[str, Any]:
    message_id = _message_id(topic)
    return {
        "address": topic.name,
        "title": topic.name,
        "description": topic.description,
        "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
        "tags": [
            {"name": f"owner:{topic.owner}"},
            {"name": f"classification:{topic.classification}"},
            *([{"name": "dead-letters"}] if topic.is_dlq else []),
        ],
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "replicas": topic.replication_factor,
                "topicConfiguration": {"cleanup.policy": ["delete"], "retention.ms": topic.retention_ms},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-owner": topic.owner,
        "x-key": topic.key,
        "x-classification": topic.classification,
        "x-consumers": list(topic.consumers),
        "x-min-insync-replicas": topic.min_insync_replicas,
        "x-retention-days": round(topic.retention_ms / 86_400_000, 2),
    }


def _operations(topics: tuple[Topic, ...]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in topics:
        channel_id, message_id = _channel_id(topic), _message_id(topic)
        channel_ref = {"$ref": f"#/channels/{channel_id}"}
        messages = [{"$ref": f"#/channels/{channel_id}/messages/{message_id}"}]
        if topic.is_dlq:
            source = topic.name.removesuffix(".dlq")
            operations[f"{channel_id}Send"] = {
                "action": "send",
                "channel": channel_ref,
                "messages": messages,
                "summary": f"Consumers of {source} dead-letter what they give up on.",
                "x-services": [*_consumers_of(topics, source)],
            }
            continue
        operations[f"{channel_id}Publish"] = {
            "action": "send",
            "channel": channel_ref,
            "messages": messages,
            "summary": f"{topic.owner} publishes {topic.event_type} through its outbox.",
            "x-services": [topic.owner],
        }
        for consumer in topic.consumers:
            operations[f"{channel_id}ReceiveBy{_pascal_case(consumer)}"] = {
                "action": "receive",
                "channel": channel_ref,
                "messages": messages,
                "summary": f"{consumer} consumes {topic.event_type} (idempotent consumer, dead letters on failure).",
                "x-services": [consumer],
            }
    return operations


def _consumers_of(topics: tuple[Topic, ...], name: str) -> tuple[str, ...]:
    # The consumers of the declared (non dead-letter) topic called name.
    return next(t.consumers for t in topics if t.name == name and not t.is_dlq)


def asyncapi_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of every declared topic, dead-letter topics included."""
    topics = declared_topics()
    try:
        version = metadata.version("mai-contracts")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    messages: dict[str, Any] = {}
    for topic in topics:
        messages[_message_id(topic)] = _dead_letter_message(topic) if topic.is_dlq else _message(topic)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:ro:mai:e-services:events",
        "info": {
            "title": "MAI citizen e-services: event streams",
            "version": version,
            "description": _DESCRIPTION,
            "contact": {"name": "MAI e-services platform team"},
            "tags": [{"name": "classification:personal", "description": "Holds fields marked x-pii."}],
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "production": {
                "host": "mai-kafka-kafka-bootstrap.mai.svc:9092",
                "protocol": "kafka-secure",
                "protocolVersion": "4.0",
                "description": (
                    "The Strimzi-managed Kafka cluster inside the platform's Kubernetes namespace: TLS "
                    "(certificates of the cluster CA) and SASL/SCRAM-SHA-512, one user per service and "
                    "stream, each allowed only the topics it owns (write) and consumes (read)."
                ),
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
                "tags": [{"name": "listener:internal"}],
            },
            "analysts": {
                "host": f"{ANALYSTS_HOST}:{ANALYSTS_PORT}",
                "protocol": "kafka-secure",
                "protocolVersion": "4.0",
                "description": (
                    "The same cluster's external listener for the analysts' network (a load balancer "
                    "admitting that network only): TLS with the cluster CA and SASL/SCRAM-SHA-512 as "
                    "the read-only `analyst` user, which may read the redacted `analytics.` topics "
                    "and nothing else."
                ),
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
                "tags": [{"name": "listener:external"}],
            },
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka-secure",
                "description": (
                    "The single-node broker started by deploy/local/infra.sh (replication factor 1): "
                    "TLS with a CA made for it under var/kafka/tls and SASL/SCRAM-SHA-512, the same ACLs."
                ),
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
            },
        },
        "channels": {_channel_id(t): _channel(t) for t in topics},
        "operations": _operations(topics),
        "components": {
            "schemas": {ENVELOPE_SCHEMA: _envelope_schema()},
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "scramSha512",
                    "description": (
                        "Each service and stream has its own user (Strimzi KafkaUser, generated from "
                        "contracts/); analysts use the read-only `analyst` user, allowed only the "
                        "redacted `analytics.` topics."
                    ),
                }
            },
            "messages": messages,
        },
    }


def render_asyncapi() -> str:
    """Return the document as the YAML text committed in contracts/asyncapi.yaml."""
    body = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=110)
    return _HEADER + body


def main() -> None:
    """Write the AsyncAPI document to standard output."""
    sys.stdout.write(render_asyncapi())


if __name__ == "__main__":
    main()
