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
