"""Outbox rows and consumer outcomes, without a broker (SQLite)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import mai_contracts
import pytest
from mai_chassis import Database, EventConsumer, PermanentError
from mai_chassis.events import build_event, decode_event, encode_event
from mai_chassis.tables import OutboxEvent, ProcessedEvent
from sqlalchemy import func, select

EVENT_TYPE = "ro.mai.petition.submitted.v1"


def petition_submitted_data() -> dict[str, Any]:
    example = mai_contracts.schema(EVENT_TYPE)["examples"][0]
    return dict(example, petition_id=str(uuid.uuid4()))


def test_publish_writes_a_cloudevent_row_in_the_same_transaction(sqlite_database: Database) -> None:
    data = petition_submitted_data()
    with sqlite_database.unit_of_work(source="petition-svc", traceparent=f"00-{'1' * 32}-{'2' * 16}-01") as uow:
        event_id = uow.publish(EVENT_TYPE, subject=data["petition_id"], data=data)
        uow.commit()
    with sqlite_database.session() as session:
        row = session.scalars(select(OutboxEvent)).one()
    assert row.event_id == event_id
    assert row.topic == "petition.submitted"
    assert row.key == data["petition_id"]
    envelope = json.loads(row.payload)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == EVENT_TYPE
    assert envelope["source"] == "petition-svc"
    assert envelope["subject"] == data["petition_id"]
    assert envelope["dataschema"] == mai_contracts.schema_uri(EVENT_TYPE)
    assert envelope["traceparent"].startswith("00-1111")
    assert envelope["data"] == data


def test_a_rolled_back_unit_of_work_leaves_no_event(sqlite_database: Database) -> None:
    data = petition_submitted_data()
    with sqlite_database.unit_of_work(source="petition-svc") as uow:
        uow.publish(EVENT_TYPE, subject=data["petition_id"], data=data)
        # no commit: leaving the block rolls back
    with sqlite_database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_data_that_breaks_the_contract_is_refused_before_the_outbox(sqlite_database: Database) -> None:
    data = petition_submitted_data()
    del data["registration_number"]
    with sqlite_database.unit_of_work(source="petition-svc") as uow:
        with pytest.raises(mai_contracts.ContractViolation, match="registration_number"):
            uow.publish(EVENT_TYPE, subject=data["petition_id"], data=data)


def _consumer(database: Database, handler: Any, **options: Any) -> EventConsumer:
    return EventConsumer(
        database,
        service="test-svc",
        group_id="test-group",
        bootstrap_servers="127.0.0.1:1",
        handlers={EVENT_TYPE: handler},
        sleep=lambda _s: None,
        **options,
    )


def _message(data: dict[str, Any] | None = None) -> bytes:
    data = data or petition_submitted_data()
    return encode_event(build_event(EVENT_TYPE, source="petition-svc", subject=data["petition_id"], data=data))


def test_the_same_event_twice_is_applied_once(sqlite_database: Database) -> None:
    applied: list[str] = []
    consumer = _consumer(sqlite_database, lambda uow, event: applied.append(event.id))
    value = _message()
    assert consumer.process("petition.submitted", value, None).name == "processed"
    assert consumer.process("petition.submitted", value, None).name == "duplicate"
    assert len(applied) == 1
    with sqlite_database.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


def test_a_message_that_is_not_a_cloudevent_is_dead_lettered(sqlite_database: Database) -> None:
    consumer = _consumer(sqlite_database, lambda uow, event: None)
    assert consumer.process("petition.submitted", b"\x00not json", None).name == "dead_letter"
    assert consumer.process("petition.submitted", b'{"specversion": "1.0"}', None).name == "dead_letter"


def test_event_data_that_breaks_its_contract_is_dead_lettered(sqlite_database: Database) -> None:
    consumer = _consumer(sqlite_database, lambda uow, event: None)
    envelope = json.loads(_message())
    envelope["data"]["kind"] = "complaint"
    assert consumer.process("petition.submitted", json.dumps(envelope).encode(), None).name == "dead_letter"


def test_an_event_from_a_service_that_does_not_own_the_topic_is_dead_lettered(sqlite_database: Database) -> None:
    applied: list[str] = []
    consumer = _consumer(sqlite_database, lambda uow, event: applied.append(event.id))
    data = petition_submitted_data()
    forged = encode_event(build_event(EVENT_TYPE, source="booking-svc", subject=data["petition_id"], data=data))
    outcome = consumer.process("petition.submitted", forged, None)
    assert outcome.name == "dead_letter"
    assert "'booking-svc' is not 'petition-svc'" in str(outcome.error)
    assert applied == []


def test_an_owner_publishing_another_topics_event_type_is_dead_lettered(sqlite_database: Database) -> None:
    applied: list[str] = []
    verified = "ro.mai.identity.verified.v1"
    consumer = EventConsumer(
        sqlite_database,
        service="test-svc",
        group_id="test-group",
        bootstrap_servers="127.0.0.1:1",
        handlers={
            EVENT_TYPE: lambda uow, event: applied.append(event.id),
            verified: lambda uow, event: applied.append(event.id),
        },
        sleep=lambda _s: None,
    )
    data = dict(mai_contracts.schema(verified)["examples"][0])
    misrouted = encode_event(build_event(verified, source="petition-svc", subject="c-1", data=data))
    outcome = consumer.process("petition.submitted", misrouted, None)
    assert outcome.name == "dead_letter"
    assert "is not carried by topic 'petition.submitted'" in str(outcome.error)
    assert applied == []


def test_transient_failures_are_retried_then_succeed(sqlite_database: Database) -> None:
    calls = {"n": 0}

    def flaky(uow: Any, event: Any) -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TimeoutError("upstream slow")

    outcome = _consumer(sqlite_database, flaky).process("petition.submitted", _message(), None)
    assert outcome.name == "processed"
    assert outcome.attempts == 3


def test_failures_beyond_the_attempt_limit_are_dead_lettered(sqlite_database: Database) -> None:
    def broken(uow: Any, event: Any) -> None:
        raise TimeoutError("always")

    outcome = _consumer(sqlite_database, broken, max_attempts=4).process("petition.submitted", _message(), None)
    assert outcome.name == "dead_letter"
    assert outcome.attempts == 4


def test_a_permanent_error_is_dead_lettered_without_retry(sqlite_database: Database) -> None:
    calls = {"n": 0}

    def refuses(uow: Any, event: Any) -> None:
        calls["n"] += 1
        raise PermanentError("template missing")

    assert _consumer(sqlite_database, refuses).process("petition.submitted", _message(), None).name == "dead_letter"
    assert calls["n"] == 1


def test_a_failed_handler_leaves_no_processed_marker(sqlite_database: Database) -> None:
    def broken(uow: Any, event: Any) -> None:
        raise PermanentError("no")

    _consumer(sqlite_database, broken).process("petition.submitted", _message(), None)
    with sqlite_database.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


def test_event_types_without_a_handler_are_ignored(sqlite_database: Database) -> None:
    consumer = EventConsumer(
        sqlite_database,
        service="test-svc",
        group_id="g",
        bootstrap_servers="127.0.0.1:1",
        handlers={"ro.mai.identity.verified.v1": lambda uow, event: None},
    )
    assert consumer.process("petition.submitted", _message(), None).name == "ignored"


def test_decoded_events_carry_envelope_and_data() -> None:
    data = petition_submitted_data()
    event = decode_event(_message(data))
    assert event.type == EVENT_TYPE
    assert event.subject == data["petition_id"]
    assert event.data == data


class _FakeKafka:
    """Stands in for KafkaConsumer in the run loop: hands out batches, records offset commits."""

    def __init__(self, batches: list[dict[Any, list[Any]]], owned: set[Any], stop: Any) -> None:
        self.batches, self.owned, self.stop = batches, owned, stop
        self.commits: list[dict[Any, int]] = []
        self.closed = False

    def poll(self, timeout_ms: int) -> dict[Any, list[Any]]:
        if not self.batches:
            self.stop.set()
            return {}
        return self.batches.pop(0)

    def commit(self, offsets: dict[Any, Any]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def assignment(self) -> set[Any]:
        return set(self.owned)

    def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        return {}

    def position(self, tp: Any) -> int:
        return 0

    def close(self, autocommit: bool = True) -> None:
        self.closed = True


@pytest.mark.parametrize("uptime_seconds", [None, 5.0], ids=["this-machine", "just-booted"])
def test_offsets_are_committed_at_most_once_per_interval_and_all_of_them_on_stop(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, uptime_seconds: float | None
) -> None:
    import threading
    import time

    if uptime_seconds is not None:
        # monotonic() counts from boot on Linux: on a machine up for 5 s it reads about 5, less than
        # the commit interval, and the first commit must still happen at once.
        real_monotonic, origin = time.monotonic, time.monotonic()
        monkeypatch.setattr(time, "monotonic", lambda: real_monotonic() - origin + uptime_seconds)
    from types import SimpleNamespace

    from kafka.structs import TopicPartition

    mine, moved = TopicPartition("petition.submitted", 0), TopicPartition("petition.submitted", 1)

    def message(tp: TopicPartition, offset: int) -> Any:
        return SimpleNamespace(
            topic=tp.topic, partition=tp.partition, offset=offset, key=None, value=_message(), headers=[]
        )

    applied: list[str] = []
    consumer = _consumer(sqlite_database, lambda uow, event: applied.append(event.id), commit_interval=3600)
    stop = threading.Event()
    # One event per poll, as at a low event rate; partition 1 is taken away by a rebalance.
    batches = [{mine: [message(mine, n)]} for n in range(5)] + [{moved: [message(moved, 0)]}]
    fake = _FakeKafka(batches, owned={mine}, stop=stop)
    consumer._consumer = fake
    consumer.run(stop)

    assert len(applied) == 6
    # The first poll's offset at once, then nothing until the consumer stops: then the last
    # applied offset of each partition it still owns (the next owner re-delivers the other).
    assert fake.commits == [{mine: 1}, {mine: 5}]
    assert fake.closed


def test_a_services_consumer_is_built_from_its_settings(sqlite_database: Database) -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Settings:
        service_name: ClassVar[str] = "record-svc"
        kafka_bootstrap_servers: str = "broker:9092"
        kafka_topic_prefix: str = "t1-"
        kafka_client_options: Any = None

    def handler(uow: Any, event: Any) -> None:
        return None

    handlers = {"ro.mai.identity.verified.v1": handler}
    consumer = EventConsumer.of_service(Settings(), sqlite_database, handlers=handlers, max_attempts=2)
    assert (consumer.service, consumer.group_id, consumer.bootstrap_servers) == (
        "record-svc",
        "t1-record-svc",
        "broker:9092",
    )
    assert consumer.topics == ["t1-identity.verified"] and consumer.max_attempts == 2
    other = EventConsumer.of_service(Settings(), sqlite_database, handlers=handlers, group_id="record-svc-replay")
    assert other.group_id == "t1-record-svc-replay"
