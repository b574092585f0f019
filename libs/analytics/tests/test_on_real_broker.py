"""The redaction stream and the archiver against a real broker."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from mai_analytics import Archiver, RedactionStream
from mai_analytics.archive import CHECKPOINT, ArchiveStore
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.testing import ensure_topics, read_events
from mai_devtools.ports import free_port

pytestmark = pytest.mark.integration

KEY = b"analytics-test-key-of-32-bytes!!"
TOPICS = mai_contracts.load_topics(include_dlq=False)


def values_at(node: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if head == "*":
        return [v for item in node for v in values_at(item, rest)] if isinstance(node, list) else []
    return values_at(node[head], rest) if isinstance(node, dict) and head in node else []


@pytest.fixture
def analytics_topics(kafka_bootstrap_servers: str, topic_prefix: str) -> str:
    ensure_topics(kafka_bootstrap_servers, [t.name for t in mai_contracts.analytics_topics()], prefix=topic_prefix)
    return topic_prefix


def publish(servers: str, prefix: str, events: list[tuple[str, Any]]) -> None:
    producer = kafka_clients.producer(servers, acks="all")
    try:
        for topic, event in events:
            producer.send(prefix + topic, key=event.get_subject().encode(), value=encode_event(event)).get(timeout=30)
    finally:
        producer.close()


def example_event(topic: mai_contracts.Topic, day: int = 14) -> Any:
    data = mai_contracts.schema(topic.event_type)["examples"][0]
    return build_event(
        topic.event_type,
        source=topic.owner,
        subject=str(uuid.uuid4()),
        data=data,
        time=datetime(2026, 3, day, 9, 30, tzinfo=UTC),
    )


@pytest.fixture
def redaction_stream(kafka_bootstrap_servers: str, analytics_topics: str) -> Iterator[RedactionStream]:
    stream = RedactionStream(
        bootstrap_servers=kafka_bootstrap_servers, pseudonym_key=KEY, topic_prefix=analytics_topics, commit_interval=0.2
    )
    stop = threading.Event()
    thread = threading.Thread(target=stream.run, args=(stop,), daemon=True)
    thread.start()
    yield stream
    stop.set()
    thread.join(timeout=30)


def test_every_topic_is_copied_without_a_personal_value_and_with_stable_pseudonyms(
    kafka_bootstrap_servers: str, analytics_topics: str, redaction_stream: RedactionStream
) -> None:
    prefix = analytics_topics
    sent = {t.name: [example_event(t), example_event(t)] for t in TOPICS}
    publish(kafka_bootstrap_servers, prefix, [(name, e) for name, events in sent.items() for e in events])
    forged = build_event(
        "ro.mai.certificate.issued.v1",
        source="petition-svc",
        subject="forged",
        data=mai_contracts.schema("ro.mai.certificate.issued.v1")["examples"][0],
    )
    publish(kafka_bootstrap_servers, prefix, [("certificate.issued", forged)])

    checked_pii_types = 0
    for topic in TOPICS:
        # Up to two minutes: on a broker just started, the stream's first group join waits for the
        # offsets topic to be created (the read ends as soon as the copies are there).
        copies = read_events(
            kafka_bootstrap_servers,
            prefix + mai_contracts.ANALYTICS_PREFIX + topic.name,
            until=lambda records, n=len(sent[topic.name]): len(records) >= n,
            timeout=120,
        )
        originals = {e.get_id(): e for e in sent[topic.name]}
        assert {c.id for c in copies} == set(originals), topic.name  # the forged one is not copied
        for copy in copies:
            original = originals[copy.id]
            assert (copy.type, copy.source, copy.subject) == (topic.event_type, topic.owner, original.get_subject())
            assert copy.dataschema == mai_contracts.schema_uri(topic.event_type)
            for path in mai_contracts.sealed_paths(topic.event_type):
                assert values_at(copy.data, path) == []
            sealed = mai_contracts.sealed_paths(topic.event_type)
            for path in mai_contracts.pii_paths(topic.event_type):
                if path in sealed:
                    continue
                before = [v for v in values_at(original.get_data(), path) if v is not None]
                after = values_at(copy.data, path)
                assert len(after) == len(before)
                assert all(str(v).startswith("pn1:") and v not in before for v in after), (topic.name, path)
                # Nor anywhere else in the copy (another field, the envelope): the text itself is gone.
                whole = json.dumps(copy.data, ensure_ascii=False) + json.dumps(copy.subject or "")
                for value in before:
                    if isinstance(value, str) and len(value) >= 4:
                        assert value not in whole, (topic.name, path)
        if mai_contracts.pii_paths(topic.event_type):
            checked_pii_types += 1
            # The two examples are one person: the same pseudonym, so analysts can count people.
            first, second = (c.data for c in copies)
            for path in mai_contracts.pii_paths(topic.event_type):
                assert values_at(first, path) == values_at(second, path)
    assert checked_pii_types == sum(1 for t in TOPICS if mai_contracts.pii_paths(t.event_type))

    dead = read_events(kafka_bootstrap_servers, prefix + "certificate.issued.dlq", until=lambda r: len(r) >= 1)
    assert [d.id for d in dead] == [forged.get_id()]


def archived_rows(store: ArchiveStore) -> list[dict[str, Any]]:
    return [row for name in store.files() if name.endswith(".parquet") for row in store.read_table(name).to_pylist()]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto's, over HTTP) with an empty bucket `archive`."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-central-1"
    )
    client.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    yield endpoint
    server.stop()


@pytest.fixture(params=["local directory", "S3 bucket"])
def archive_root(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(root, S3 endpoint) of an empty archive."""
    if request.param == "local directory":
        return str(tmp_path / "archive"), ""
    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "eu-central-1"),
    ):
        monkeypatch.setenv(name, value)
    return f"s3://archive/{uuid.uuid4().hex}", endpoint


def test_the_archiver_resumes_from_its_checkpoint_after_a_kill_and_writes_each_event_once(
    kafka_bootstrap_servers: str, analytics_topics: str, archive_root: tuple[str, str]
) -> None:
    prefix = analytics_topics
    submitted = mai_contracts.topic("petition.submitted")
    issued = mai_contracts.topic("certificate.issued")
    events = [("analytics.petition.submitted", example_event(submitted, day=1 + n % 3)) for n in range(12)]
    events += [("analytics.certificate.issued", example_event(issued, day=2)) for _ in range(6)]
    publish(kafka_bootstrap_servers, prefix, events)
    root, endpoint = archive_root

    def archiver() -> Archiver:
        return Archiver(
            root, bootstrap_servers=kafka_bootstrap_servers, topic_prefix=prefix, batch_size=5, s3_endpoint_url=endpoint
        )

    store = archiver().store

    # A first run archives one batch and stops cleanly: its checkpoint is written.
    first = archiver()
    first.run(threading.Event(), max_batches=1)
    batch, offsets = first.read_checkpoint()
    assert batch == 1 and sum(offsets.values()) == len(archived_rows(store)) >= 5

    # A second run is killed after writing its Parquet files but before its checkpoint.
    killed = archiver()

    def crash(*_args: Any) -> None:
        raise KeyboardInterrupt("killed")

    killed._write_checkpoint = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        killed.run(threading.Event(), max_batches=1)
    assert any("/part-000002-" in name for name in store.files())  # written, not checkpointed
    assert archiver().read_checkpoint()[0] == 1

    # The restarted archiver drops the unfinished batch, resumes at the checkpoint, and finishes.
    stop = threading.Event()
    resumed = archiver()
    finished = threading.Thread(target=resumed.run, args=(stop,), kwargs={"max_batches": 10}, daemon=True)
    finished.start()
    deadline = time.monotonic() + 60
    while sum(resumed.read_checkpoint()[1].values()) < len(events) and time.monotonic() < deadline:
        stop.wait(0.2)
    stop.set()
    finished.join(timeout=30)

    rows = archived_rows(store)
    assert sorted(r["id"] for r in rows) == sorted(e.get_id() for _t, e in events)
    assert len({(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"]) for r in rows}) == len(events)
    days = {name.split("/")[1] for name in store.files() if name.startswith("type=ro.mai.petition.submitted.v1/")}
    assert days == {"day=2026-03-01", "day=2026-03-02", "day=2026-03-03"}
    assert json.loads(store.read_text(CHECKPOINT) or "{}")["batch"] >= 3
    assert {r["data.institution"] for r in rows if r["type"] == submitted.event_type} == {"IGPR"}
