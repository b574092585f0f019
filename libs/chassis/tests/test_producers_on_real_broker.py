"""Discarding a producer whose records the broker will not acknowledge, on a real broker."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from mai_chassis import kafka_clients
from mai_chassis.producers import discard_producer
from mai_chassis.testing import ensure_topics, wait_until

pytestmark = pytest.mark.integration


def _network_thread_alive(client_id: str) -> bool:
    return any(t.name == f"{client_id}-network-thread" and t.is_alive() for t in threading.enumerate())


def test_a_producer_with_a_record_in_flight_is_closed_without_blocking_or_leaking_its_thread(
    kafka_bootstrap_servers: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "petition.submitted"
    ensure_topics(kafka_bootstrap_servers, ["petition.submitted"], prefix=topic_prefix)
    client_id = f"{topic_prefix}discard"

    def lingering_producer() -> KafkaProducer:
        # A record held back for a minute is still in flight when the producer is closed.
        return kafka_clients.producer(kafka_bootstrap_servers, client_id=client_id, acks="all", linger_ms=60_000)

    # What the relay used to do: kafka-python's close flushes first and gives up half-closed,
    # its network thread still running.
    producer = lingering_producer()
    producer.send(topic, b"first")
    with pytest.raises(KafkaTimeoutError):
        producer.close(timeout=0)
    assert _network_thread_alive(client_id)
    discard_producer(producer, what="test").join(timeout=30)
    assert not _network_thread_alive(client_id)

    producer = lingering_producer()
    future = producer.send(topic, b"second")
    assert not future.is_done
    started = time.monotonic()
    closing = discard_producer(producer, what="test")
    assert time.monotonic() - started < 0.5, "discarding must not block the caller"
    closing.join(timeout=30)
    assert not closing.is_alive()
    assert future.is_done
    wait_until(lambda: not _network_thread_alive(client_id), timeout=5, what="the network thread stopped")


def test_an_idle_producer_is_closed_at_once(kafka_bootstrap_servers: str) -> None:
    producer = kafka_clients.producer(kafka_bootstrap_servers, client_id="idle-discard")
    started = time.monotonic()
    discard_producer(producer, what="test").join(timeout=10)
    assert time.monotonic() - started < 5
    assert not _network_thread_alive("idle-discard")
