"""On a broker with authentication and ACLs on: each user does exactly what contracts/ allow it.

Real refusals from a real broker: nobody gets in without credentials, and a service's user that
tries to write another service's topic, or read a topic it does not consume, is refused.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import kafka.errors
import mai_contracts
import pytest
from kafka import TopicPartition
from kafka.errors import GroupAuthorizationFailedError, KafkaTimeoutError, TopicAuthorizationFailedError
from mai_chassis import kafka_clients
from mai_chassis.kafka_clients import KafkaSecurity
from mai_chassis.testing import ensure_topics, wait_until
from mai_contracts._topics import SERVICES

pytestmark = pytest.mark.integration

ORIGINALS = mai_contracts.load_topics(include_dlq=False)


def _owned_topic(service: str) -> str | None:
    return next((t.name for t in ORIGINALS if t.owner == service), None)


def _foreign_topic(service: str) -> str:
    """A topic that another service owns and this one does not consume."""
    return next(t.name for t in ORIGINALS if t.owner != service and service not in t.consumers)


def _write(servers: str, security: KafkaSecurity, topic: str, *, idempotent: bool = True) -> None:
    producer = kafka_clients.producer(
        servers,
        security=security,
        acks="all",
        enable_idempotence=idempotent,
        max_block_ms=10000,
        request_timeout_ms=10000,
        delivery_timeout_ms=15000,
    )
    try:
        producer.send(topic, key=b"k", value=b"{}").get(timeout=20)
    finally:
        producer.close(timeout=5)


def _raise_if_hidden(servers: str, security: KafkaSecurity, topic: str) -> None:
    """Raise the broker's refusal when the user may not even see the topic's metadata.

    kafka-python's consumer only logs such an answer and then waits for partitions forever; the
    admin client returns the broker's error code, which is turned back into its exception here.
    """
    client = kafka_clients.admin(servers, security=security)
    try:
        (described,) = client.describe_topics([topic])
    finally:
        client.close()
    if described["error_code"]:
        raise kafka.errors.for_code(described["error_code"])(topic)


def _read(servers: str, security: KafkaSecurity, topic: str, *, group: str | None = None) -> int:
    """Read the topic from the beginning (in ``group`` if given, else outside any); how many records."""
    _raise_if_hidden(servers, security, topic)
    consumer = kafka_clients.consumer(
        bootstrap_servers=servers,
        security=security,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=10000,
    )
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, n) for n in sorted(consumer.partitions_for_topic(topic))])
            consumer.seek_to_beginning()
        else:
            consumer.subscribe([topic])
        records = 0
        for _ in range(10):
            batch = consumer.poll(timeout_ms=500)
            records += sum(len(messages) for messages in batch.values())
            if group is not None and batch:
                consumer.commit()
        return records
    finally:
        consumer.close()


@pytest.fixture
def servers(kafka_bootstrap_servers: str, topic_prefix: str, kafka_users: dict[str, Any]) -> str:
    ensure_topics(kafka_bootstrap_servers, [t.name for t in mai_contracts.analytics_topics()], prefix=topic_prefix)
    return kafka_bootstrap_servers


def _connect(servers: str, security: KafkaSecurity) -> list[str]:
    """The topics an admin client sees once connected as ``security``'s user."""
    client = kafka_clients.admin(servers, security=security, bootstrap_timeout_ms=3000, request_timeout_ms=3000)
    try:
        return list(client.list_topics())
    finally:
        client.close()


def test_a_client_without_credentials_is_refused(servers: str, kafka_users: dict[str, KafkaSecurity]) -> None:
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        _connect(servers, KafkaSecurity())


def _tls_only(kafka_users: dict[str, KafkaSecurity]) -> KafkaSecurity:
    """notify-svc's settings, when the broker's clients' listener is TLS (make test's is); else skip."""
    notify = kafka_users["notify-svc"]
    if notify.protocol != "SASL_SSL" or not notify.ssl_cafile:
        pytest.skip("the broker's clients' listener is not TLS with a CA of its own (make test's is)")
    return notify


def test_the_listener_speaks_tls_only_and_a_client_checks_the_brokers_certificate(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    notify = _tls_only(kafka_users)

    # The right credentials without TLS get nowhere: the broker waits for a TLS handshake.
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        _connect(servers, dataclasses.replace(notify, protocol="SASL_PLAINTEXT", ssl_cafile=""))
    # TLS that trusts only the system's CAs refuses the broker's certificate (signed by the local CA).
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        _connect(servers, dataclasses.replace(notify, ssl_cafile=""))
    # With the CA it trusts, the same user gets in.
    assert topic_prefix + "petition.submitted" in _connect(servers, notify)


def test_a_client_with_a_wrong_password_is_refused(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    notify = kafka_users["notify-svc"]

    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        _connect(servers, notify.as_user("notify-svc", "not-" + uuid.uuid4().hex))
    # The right password gets in, and shows the user only the topics it may describe.
    visible = [name for name in _connect(servers, notify) if name.startswith(topic_prefix)]
    assert topic_prefix + "petition.submitted" in visible
    assert topic_prefix + "account.registered.dlq" in visible
    assert topic_prefix + "certificate.requested" not in visible


@pytest.mark.parametrize("service", sorted(s for s in SERVICES if _owned_topic(s)))
def test_a_service_writes_its_own_topic_and_is_refused_on_another_services(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity], service: str
) -> None:
    own, foreign = _owned_topic(service), _foreign_topic(service)
    assert own is not None

    _write(servers, kafka_users[service], topic_prefix + own)
    with pytest.raises(TopicAuthorizationFailedError):
        _write(servers, kafka_users[service], topic_prefix + foreign)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_is_refused_on_a_topic_it_does_not_consume(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity], service: str
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        _read(servers, kafka_users[service], topic_prefix + _foreign_topic(service))


def test_a_service_that_may_see_a_topic_but_not_consume_it_is_refused_its_records(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    # notify-svc writes notification.sent (so it may describe it) but consumes no such topic.
    with pytest.raises(TopicAuthorizationFailedError):
        _read(servers, kafka_users["notify-svc"], topic_prefix + "notification.sent")


def test_a_consumer_reads_what_it_consumes_in_its_group_and_not_in_another_services(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    topic = topic_prefix + "identity.verified"
    _write(servers, kafka_users["identity-svc"], topic)

    assert _read(servers, kafka_users["record-svc"], topic, group=topic_prefix + "record-svc") == 1
    with pytest.raises(GroupAuthorizationFailedError):
        _read(servers, kafka_users["record-svc"], topic, group=topic_prefix + "booking-svc")


def test_the_analyst_reads_the_redacted_copies_and_is_refused_on_the_originals(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    analyst = kafka_users[mai_contracts.ANALYST]
    _write(servers, kafka_users[mai_contracts.REDACTOR], topic_prefix + "analytics.petition.submitted")

    assert _read(servers, analyst, topic_prefix + "analytics.petition.submitted") == 1
    with pytest.raises(TopicAuthorizationFailedError):
        _read(servers, analyst, topic_prefix + "petition.submitted")
    with pytest.raises(TopicAuthorizationFailedError):
        _write(servers, analyst, topic_prefix + "analytics.petition.submitted", idempotent=False)


def test_the_redaction_stream_cannot_forge_an_original_event(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        _write(servers, kafka_users[mai_contracts.REDACTOR], topic_prefix + "identity.verified")


def test_a_finished_runs_acls_are_deleted_with_its_topics_and_its_users_are_refused_after(
    servers: str, topic_prefix: str, kafka_users: dict[str, KafkaSecurity]
) -> None:
    from mai_chassis.kafka_admin import delete_acls_under

    admin = kafka_clients.admin(servers)
    try:
        deleted = delete_acls_under(admin, topic_prefix)
    finally:
        admin.close()

    assert deleted == sum(len(u.grants) for u in mai_contracts.kafka_users(topic_prefix))
    wait_until(
        lambda: _refused_write(servers, kafka_users["petition-svc"], topic_prefix + "petition.submitted"),
        timeout=30,
        what="the deleted ACLs no longer in force",
    )


def _refused_write(servers: str, security: KafkaSecurity, topic: str) -> bool:
    try:
        _write(servers, security, topic, idempotent=False)
    except TopicAuthorizationFailedError:
        return True
    return False
