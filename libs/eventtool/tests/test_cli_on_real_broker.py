"""mai-events against a real broker: tail from a position, export to each format, redaction by default."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.kafka_clients import KafkaSecurity
from mai_eventtool import read_rows
from mai_eventtool.cli import main

pytestmark = pytest.mark.integration

EVENT_TYPE = "ro.mai.certificate.issued.v1"
TOPIC = "certificate.issued"


def certificate(number: int, issued_at: datetime) -> tuple[str, bytes]:
    data = dict(
        mai_contracts.schema(EVENT_TYPE)["examples"][0],
        certificate_id=str(uuid.uuid4()),
        registration_number=f"CJ-2025-{number:06d}",
        issued_at=issued_at.isoformat().replace("+00:00", "Z"),
    )
    event = build_event(EVENT_TYPE, source="record-svc", subject=data["certificate_id"], data=data, time=issued_at)
    return event.get_id(), encode_event(event)


@pytest.fixture
def issued(kafka_bootstrap_servers: str, topic_prefix: str) -> dict[str, Any]:
    """Five valid certificates, then one message that is no event, then one that breaks its contract."""
    producer = kafka_clients.producer(kafka_bootstrap_servers, acks="all")
    ids = []
    try:
        for number in range(5):
            event_id, value = certificate(number, datetime(2025, 3, 14, 9, number, tzinfo=UTC))
            producer.send(topic_prefix + TOPIC, key=str(number).encode(), value=value).get(timeout=30)
            ids.append(event_id)
        time.sleep(0.05)
        boundary = datetime.now(UTC)
        time.sleep(0.05)
        producer.send(topic_prefix + TOPIC, key=b"x", value=b"not a cloudevent").get(timeout=30)
        broken = json.loads(certificate(9, datetime(2025, 3, 14, 10, tzinfo=UTC))[1])
        broken["data"]["purpose"] = "!!"
        producer.send(topic_prefix + TOPIC, key=b"y", value=json.dumps(broken).encode()).get(timeout=30)
    finally:
        producer.close()
    return {"ids": ids, "broken_id": broken["id"], "boundary": boundary}


def run(*argv: str) -> tuple[int, str, str]:
    out, errors = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, errors=errors)
    return code, out.getvalue(), errors.getvalue()


@pytest.mark.parametrize("export_format", ["jsonl", "csv", "parquet"])
def test_export_writes_every_event_with_personal_data_redacted_and_reports_the_bad_ones(
    export_format: str, issued: dict[str, Any], kafka_bootstrap_servers: str, topic_prefix: str, tmp_path: Path
) -> None:
    output = tmp_path / f"certificates.{export_format}"
    code, _out, errors = run(
        "export", TOPIC, "--format", export_format, "--output", str(output),
        "--bootstrap-servers", kafka_bootstrap_servers, "--topic-prefix", topic_prefix, "--original",
    )  # fmt: skip
    assert code == 1, errors  # one message broke its contract, one was no event at all
    assert "NOT AN EVENT" in errors and f"CONTRACT BROKEN {topic_prefix}{TOPIC}" in errors
    assert "5 valid, 1 breaking their contract, 1 not CloudEvents" in errors
    rows = read_rows(output)
    assert sorted(str(r["id"]) for r in rows) == sorted([*issued["ids"], issued["broken_id"]])
    assert {r["data.recipient.email"] for r in rows} == {"[redacted]"}
    assert {r["data.recipient.name"] for r in rows} == {"[redacted]"}
    assert "ana.popescu" not in output.read_bytes().decode("utf-8", errors="replace")
    verdicts = {str(r["id"]): str(r["valid"]).lower() for r in rows}
    assert verdicts[issued["broken_id"]] == "false"
    assert {verdicts[i] for i in issued["ids"]} == {"true"}


def test_tail_from_an_offset_with_a_limit_prints_json_lines(
    issued: dict[str, Any], kafka_bootstrap_servers: str, topic_prefix: str
) -> None:
    # Everything sits on the partitions its keys chose; offset 0 on every partition is the start.
    code, out, _errors = run(
        "tail", TOPIC, "--offset", "0", "--max", "3", "--timeout", "10",
        "--bootstrap-servers", kafka_bootstrap_servers, "--topic-prefix", topic_prefix, "--original",
    )  # fmt: skip
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    assert all(line["data"]["recipient"]["email"] == "[redacted]" for line in lines if line["valid"])
    assert code in (0, 1)


def test_tail_since_a_time_skips_what_came_before(
    issued: dict[str, Any], kafka_bootstrap_servers: str, topic_prefix: str
) -> None:
    code, out, errors = run(
        "tail", TOPIC, "--since", issued["boundary"].isoformat(), "--timeout", "3",
        "--bootstrap-servers", kafka_bootstrap_servers, "--topic-prefix", topic_prefix, "--original",
    )  # fmt: skip
    printed = [json.loads(line)["id"] for line in out.splitlines()]
    assert printed == [issued["broken_id"]]  # the five earlier certificates are not shown
    assert "NOT AN EVENT" in errors and code == 1


def test_show_pii_needs_the_flag_and_warns_on_stderr(kafka_bootstrap_servers: str, topic_prefix: str) -> None:
    event_id, value = certificate(1, datetime(2025, 3, 14, 9, tzinfo=UTC))
    producer = kafka_clients.producer(kafka_bootstrap_servers, acks="all")
    producer.send(topic_prefix + TOPIC, key=b"k", value=value).get(timeout=30)
    producer.close()
    # Through the installed console script, as an analyst runs it.
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("mai-events")), "tail", TOPIC, "--from-beginning", "--max", "1",
         "--timeout", "10", "--show-pii", "--original", "--topic-prefix", topic_prefix],
        capture_output=True, text=True, timeout=60,
        # The originals, so a user allowed to read them: the test's (its settings from the environment).
        env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers, "PATH": "/usr/bin:/bin",
             **KafkaSecurity.from_env().environment()},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "WARNING: --show-pii" in shown.stderr
    line = json.loads(shown.stdout)
    assert line["id"] == event_id and line["redacted"] is False
    assert line["data"]["recipient"]["email"] == "ana.popescu@example.ro"


def test_an_unknown_topic_or_a_missing_broker_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    code, _out, errors = run("tail", "no.such.topic", "--bootstrap-servers", "127.0.0.1:9")
    assert code == 2 and "no topic 'no.such.topic'" in errors
    code, _out, errors = run("tail", TOPIC)
    assert code == 2 and "KAFKA_BOOTSTRAP_SERVERS" in errors


def test_since_needs_a_time_zone(kafka_bootstrap_servers: str) -> None:
    naive = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    code, _out, errors = run("tail", TOPIC, "--since", naive, "--bootstrap-servers", kafka_bootstrap_servers)
    assert code == 2 and "time zone" in errors


def test_by_default_the_redacted_copy_is_read_and_show_pii_is_refused_there(
    kafka_bootstrap_servers: str, topic_prefix: str
) -> None:
    from mai_chassis.events import decode_event
    from mai_chassis.testing import ensure_topics

    copy_topic = "analytics." + TOPIC
    ensure_topics(kafka_bootstrap_servers, [copy_topic], prefix=topic_prefix)
    event_id, value = certificate(2, datetime(2025, 3, 14, 9, tzinfo=UTC))
    original = decode_event(value)
    copied = dict(json.loads(value), data=mai_contracts.pseudonymise(EVENT_TYPE, original.data, b"k" * 32))
    producer = kafka_clients.producer(kafka_bootstrap_servers, acks="all")
    producer.send(topic_prefix + copy_topic, key=b"k", value=json.dumps(copied).encode()).get(timeout=30)
    producer.close()

    code, out, errors = run(
        "tail", TOPIC, "--from-beginning", "--max", "1", "--timeout", "10",
        "--bootstrap-servers", kafka_bootstrap_servers, "--topic-prefix", topic_prefix,
    )  # fmt: skip
    assert code == 0, errors
    line = json.loads(out)
    assert line["id"] == event_id and line["kafka"]["topic"] == topic_prefix + copy_topic
    assert line["data"]["recipient"]["email"].startswith("pn1:") and line["redacted"] is True

    code, _out, errors = run(
        "tail", TOPIC, "--show-pii", "--bootstrap-servers", kafka_bootstrap_servers, "--topic-prefix", topic_prefix
    )
    assert code == 2 and "--show-pii needs --original" in errors
