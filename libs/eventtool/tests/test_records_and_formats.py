"""Decoding, contract checks, redaction, flattening and the three export formats (no broker)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from mai_chassis.events import build_event, encode_event
from mai_eventtool import EventRecord, Undecodable, read_rows, record_from_message, write_records
from mai_eventtool.formats import columns_for

SUBMITTED = "ro.mai.petition.submitted.v1"
REVIEWED = "ro.mai.application.reviewed.v1"


def example(event_type: str, **changes: Any) -> dict[str, Any]:
    return dict(mai_contracts.schema(event_type)["examples"][0], **changes)


def encoded(event_type: str, data: dict[str, Any], *, validate: bool = True) -> bytes:
    topic = mai_contracts.topic_for_event_type(event_type)
    if validate:
        return encode_event(build_event(event_type, source=topic.owner, subject=str(data[topic.key]), data=data))
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": event_type,
        "source": topic.owner,
        "subject": "s",
        "time": "2025-03-14T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(envelope).encode()


def record(value: bytes, topic: str = "petition.submitted", **options: Any) -> EventRecord | Undecodable:
    return record_from_message(topic, 2, 41, value, contract_topic=mai_contracts.topic(topic), **options)


def test_personal_fields_are_redacted_by_default_and_the_rest_kept() -> None:
    found = record(encoded(SUBMITTED, example(SUBMITTED)))
    assert isinstance(found, EventRecord) and found.valid
    assert found.data["recipient"] == {"email": "[redacted]", "name": "[redacted]", "language": "ro"}
    assert found.data["institution"] == "IGPR"
    assert (found.partition, found.offset, found.redacted) == (2, 41, True)


def test_show_pii_keeps_personal_fields() -> None:
    found = record(encoded(SUBMITTED, example(SUBMITTED)), show_pii=True)
    assert isinstance(found, EventRecord)
    assert found.data["recipient"]["email"] == "ana.popescu@example.ro"
    assert found.redacted is False


def test_personal_fields_inside_array_items_are_redacted() -> None:
    topic = mai_contracts.topic_for_event_type(REVIEWED).name
    found = record(encoded(REVIEWED, example(REVIEWED)), topic=topic)
    assert isinstance(found, EventRecord)
    assert found.data["documents"] == [
        {"document_type": "passport-copy", "decision": "accepted"},
        {"document_type": "employment-contract", "decision": "rejected", "feedback": "[redacted]"},
    ]


def test_an_event_breaking_its_contract_is_reported_and_its_undeclared_fields_hidden() -> None:
    data = example(SUBMITTED, attachment_count=-1, cnp="1800101221144")
    found = record(encoded(SUBMITTED, data, validate=False))
    assert isinstance(found, EventRecord)
    assert not found.valid
    assert any("attachment_count" in error for error in found.contract_errors)
    assert any("cnp" in error for error in found.contract_errors)
    assert found.data["cnp"] == "[redacted]"  # fails closed: nothing says an unknown field is harmless
    assert found.data["recipient"]["email"] == "[redacted]"


def test_an_event_on_the_wrong_topic_or_of_an_unknown_type_is_invalid_and_fully_redacted() -> None:
    wrong_topic = record(encoded(SUBMITTED, example(SUBMITTED)), topic="petition.answered")
    assert isinstance(wrong_topic, EventRecord)
    assert "does not belong on petition.answered" in wrong_topic.contract_errors[0]
    unknown = record(encoded(SUBMITTED, {"who": "Ana"}, validate=False).replace(b"submitted.v1", b"mystery.v9"))
    assert isinstance(unknown, EventRecord)
    assert unknown.contract_errors == ("unknown event type 'ro.mai.petition.mystery.v9'",)
    assert unknown.data == {"who": "[redacted]"}


def test_a_message_that_is_not_a_cloudevent_is_reported_as_such() -> None:
    found = record(b"\xff\xfe not an event")
    assert isinstance(found, Undecodable)
    assert (found.partition, found.offset) == (2, 41)


def records_of_three_petitions() -> list[EventRecord]:
    found = []
    for number in range(3):
        data = example(SUBMITTED, petition_id=str(uuid.uuid4()), attachment_count=number)
        item = record(encoded(SUBMITTED, data))
        assert isinstance(item, EventRecord)
        found.append(item)
    return found


def test_flat_columns_are_envelope_then_kafka_then_contract_then_every_declared_data_field() -> None:
    columns = columns_for(SUBMITTED, [])
    assert columns[:5] == ["id", "type", "source", "subject", "time"]
    assert columns[5:10] == ["kafka_topic", "kafka_partition", "kafka_offset", "valid", "contract_errors"]
    assert "data.recipient.email" in columns and "data.citizen_id" in columns  # optional fields get a column too
    assert "data.recipient" not in columns


@pytest.mark.parametrize("export_format", ["jsonl", "csv", "parquet"])
def test_each_format_reads_back_the_same_events_with_personal_data_redacted(export_format: str, tmp_path: Path) -> None:
    records = records_of_three_petitions()
    path = tmp_path / f"petitions.{export_format}"
    assert write_records(records, path, export_format, SUBMITTED) == 3  # type: ignore[arg-type]
    rows = read_rows(path)
    assert [row["id"] for row in rows] == [r.id for r in records]
    assert {row["data.recipient.email"] for row in rows} == {"[redacted]"}
    assert {row["data.recipient.language"] for row in rows} == {"ro"}
    assert "ana.popescu" not in path.read_bytes().decode("utf-8", errors="replace")
    counts = [row["data.attachment_count"] for row in rows]
    assert [int(c) for c in counts] == [0, 1, 2]


def test_parquet_keeps_types_for_analysts(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "petitions.parquet"
    write_records(records_of_three_petitions(), path, "parquet", SUBMITTED)
    schema = pq.read_schema(path)
    assert str(schema.field("time").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("data.registered_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("data.answer_due_on").type) == "date32[day]"
    assert str(schema.field("data.attachment_count").type) == "int64"
    assert str(schema.field("valid").type) == "bool"
