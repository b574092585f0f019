"""`mai-analytics redact` and `mai-analytics archive` as the processes a deployment runs, one of them killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import mai_contracts
import pyarrow.parquet as pq
import pytest
from mai_analytics import Archiver
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.testing import ensure_topics, kafka_user_environment
from mai_devtools.ports import free_port

pytestmark = pytest.mark.integration

EVENT_TYPE = "ro.mai.petition.submitted.v1"
SCRIPT = str(Path(sys.executable).with_name("mai-analytics"))


@pytest.fixture
def start(
    kafka_bootstrap_servers: str, topic_prefix: str, tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    ensure_topics(kafka_bootstrap_servers, [t.name for t in mai_contracts.analytics_topics()], prefix=topic_prefix)
    started: list[subprocess.Popen[bytes]] = []

    def run(command: str) -> subprocess.Popen[bytes]:
        # Each stream as its own broker user (the redactor writes the copies the archiver reads).
        user = mai_contracts.REDACTOR if command == "redact" else mai_contracts.ARCHIVER
        env = {
            **kafka_user_environment(kafka_bootstrap_servers, user, prefix=topic_prefix),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": topic_prefix,
            "ANALYTICS_PSEUDONYM_KEY": "analytics-process-test-key-0123456789",
            "ANALYTICS_ARCHIVE_DIR": str(tmp_path / "archive"),
            "METRICS_PORT": str(free_port()),
            "LOG_JSON": "false",
        }
        process = subprocess.Popen([SCRIPT, command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def publish(servers: str, prefix: str, count: int) -> list[str]:
    topic = mai_contracts.topic_for_event_type(EVENT_TYPE)
    producer = kafka_clients.producer(servers, acks="all")
    ids = []
    try:
        for _ in range(count):
            event = build_event(
                EVENT_TYPE,
                source=topic.owner,
                subject=str(uuid.uuid4()),
                data=mai_contracts.schema(EVENT_TYPE)["examples"][0],
                time=datetime(2026, 3, 14, 9, tzinfo=UTC),
            )
            producer.send(prefix + topic.name, key=event.get_subject().encode(), value=encode_event(event)).get(30)
            ids.append(event.get_id())
    finally:
        producer.close()
    return ids


def wait_for_archived(archiver: Archiver, count: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(archiver.read_checkpoint()[1].values()) < count:
        assert time.monotonic() < deadline, f"the archive did not reach {count} events"
        time.sleep(0.2)


def test_a_killed_archiver_process_resumes_and_the_archive_holds_each_event_once(
    start: Callable[[str], subprocess.Popen[bytes]], kafka_bootstrap_servers: str, topic_prefix: str, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    view = Archiver(root, bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix)
    start("redact")
    archiver = start("archive")
    first = publish(kafka_bootstrap_servers, topic_prefix, 4)
    wait_for_archived(view, 4)

    archiver.send_signal(signal.SIGKILL)
    archiver.wait(timeout=30)
    later = publish(kafka_bootstrap_servers, topic_prefix, 3)
    restarted = start("archive")
    wait_for_archived(view, 7)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=60) == 0

    rows = [row for part in root.glob("type=*/day=*/*.parquet") for row in pq.read_table(part).to_pylist()]
    assert sorted(r["id"] for r in rows) == sorted(first + later)
    assert all(r["data.recipient.email"].startswith("pn1:") for r in rows)
    assert len({r["data.recipient.email"] for r in rows}) == 1  # one petitioner, one pseudonym
