"""Reading a topic from a chosen position, outside any consumer group (reading never moves a service's offsets)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["KafkaMessage", "StartPosition", "TopicNotFoundError", "read_topic"]

logger = logging.getLogger(__name__)

POLL_INTERVAL_MS = 500


class TopicNotFoundError(LookupError):
    """The broker does not have the topic (check the name and --topic-prefix)."""


@dataclass(frozen=True)
class KafkaMessage:
    """The parts of a Kafka record the event tool uses."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class StartPosition:
    """Where reading starts on every partition: the end (new events only), the beginning, an offset, or a time."""

    kind: Literal["end", "beginning", "offset", "time"] = "end"
    offset: int | None = None
    since: datetime | None = None

    @classmethod
    def from_options(
        cls, *, from_beginning: bool, offset: int | None, since: datetime | None, default: str
    ) -> StartPosition:
        """The position the command-line options ask for (at most one of them), else default."""
        given = (("--from-beginning", from_beginning), ("--offset", offset is not None), ("--since", since is not None))
        chosen = [name for name, present in given if present]
        if len(chosen) > 1:
            raise ValueError(f"choose one start position, not {' and '.join(chosen)}")
        if from_beginning:
            return cls("beginning")
        if offset is not None:
            if offset < 0:
                raise ValueError("--offset must be zero or more")
            return cls("offset", offset=offset)
        if since is not None:
            if since.tzinfo is None:
                raise ValueError("--since needs a time zone, e.g. 2025-03-14T09:00:00Z")
            return cls("time", since=since)
        return cls("beginning" if default == "beginning" else "end")


def _seek(consumer: Any, partitions: list[Any], start: StartPosition) -> None:
    beginnings = consumer.beginning_offsets(partitions)
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        if start.kind == "beginning":
            target = beginnings[tp]
        elif start.kind == "end":
            target = ends[tp]
        elif start.kind == "offset":
            assert start.offset is not None
            target = min(max(start.offset, beginnings[tp]), ends[tp])
        else:
            assert start.since is not None
            found = consumer.offsets_for_times({tp: int(start.since.timestamp() * 1000)}).get(tp)
            target = found.offset if found is not None else ends[tp]
        consumer.seek(tp, target)


def read_topic(
    bootstrap_servers: str,
    topic: str,
    start: StartPosition,
    *,
    max_messages: int | None = None,
    idle_timeout_s: float | None = None,
    stop_at_end: bool = False,
) -> Iterator[KafkaMessage]:
    """Yield the messages of every partition of topic from start.

    Stops after max_messages, after idle_timeout_s without a new message, or (stop_at_end) once
    every partition reached the end it had when reading began — whichever comes first.
    """
    from kafka import TopicPartition
    from mai_chassis import kafka_clients

    # The analyst's credentials (KAFKA_SASL_*), read where every client reads them.
    consumer = kafka_clients.consumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="mai-events",
        request_timeout_ms=30000,
    )
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise TopicNotFoundError(f"topic {topic!r} does not exist on {bootstrap_servers}")
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        consumer.assign(partitions)
        _seek(consumer, partitions, start)
        ends = consumer.end_offsets(partitions) if stop_at_end else {}
        logger.debug("reading %s (%d partitions) from %s", topic, len(partitions), start.kind)
        seen = 0
        last_message = time.monotonic()
        while True:
            if stop_at_end and all(consumer.position(tp) >= ends[tp] for tp in partitions):
                return
            if idle_timeout_s is not None and time.monotonic() - last_message >= idle_timeout_s:
                return
            batches = consumer.poll(timeout_ms=POLL_INTERVAL_MS)
            for tp in sorted(batches, key=lambda p: p.partition):
                for record in batches[tp]:
                    if stop_at_end and record.offset >= ends[tp]:
                        continue
                    yield KafkaMessage(
                        record.topic, record.partition, record.offset, record.timestamp, record.key, record.value
                    )
                    seen += 1
                    last_message = time.monotonic()
                    if max_messages is not None and seen >= max_messages:
                        return
    finally:
        consumer.close()
