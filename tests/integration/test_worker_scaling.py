"""Scaling, proven locally: three workers share a topic; one is killed mid-stream; nothing is lost or doubled."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import mai_contracts
import pytest
from mai_chassis import kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.migrations import upgrade
from mai_chassis.testing import wait_until
from sqlalchemy import create_engine, text

# The waits below add up to six minutes at worst (start, rebalance after the kill, the stream drained).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

logger = logging.getLogger(__name__)

EVENT_TYPE = "ro.mai.identity.verified.v1"
TOPIC = "identity.verified"
WORKER = Path(__file__).with_name("scaling_worker.py")
EVENTS_BEFORE_THE_KILL = 400
EVENTS_AFTER_THE_KILL = 200
ASSIGNED = re.compile(r"WORKER (\S+) ASSIGNED ([0-9,]*)$", re.MULTILINE)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def last_assignment(self) -> set[int] | None:
        found = ASSIGNED.findall(self.log_path.read_text(encoding="utf-8", errors="replace"))
        if not found:
            return None
        return {int(p) for p in found[-1][1].split(",") if p}


@pytest.fixture
def effects_database(database_factory: Callable[..., str]) -> Iterator[Any]:
    url = database_factory("scaling")
    upgrade(url, None)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL, worker TEXT NOT NULL)")
        )
    engine.url_for_workers = url  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(name: str, database_url: str, servers: str, prefix: str, group: str) -> Worker:
        log_path = tmp_path / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, str(WORKER), database_url, servers, prefix, group, name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        worker = Worker(name, process, log_path, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
    for worker in started:
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=10)
        worker.log.close()


def _log_tails(workers: list[Worker], lines: int = 30) -> str:
    """The end of each worker's log: what its consumer did in the group, for a failure's message."""
    tails = []
    for worker in workers:
        text = worker.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        tails.append(f"--- {worker.name} (exit code {worker.process.poll()}):\n" + "\n".join(text))
    return "\n".join(tails)


def _effects(engine: Any) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.execute(text("SELECT event_id, worker FROM effects"))]


def _verification(citizen_id: str) -> tuple[str, bytes]:
    data = dict(mai_contracts.schema(EVENT_TYPE)["examples"][0], citizen_id=citizen_id)
    event = build_event(EVENT_TYPE, source="identity-svc", subject=citizen_id, data=data)
    return event.get_id(), encode_event(event)


def _produce(servers: str, topic: str, count: int, produced: list[str], pause_s: float) -> None:
    producer = kafka_clients.producer(servers, acks="all", linger_ms=5)
    try:
        for _ in range(count):
            citizen_id = str(uuid.uuid4())
            event_id, value = _verification(citizen_id)
            producer.send(topic, key=citizen_id.encode(), value=value)
            produced.append(event_id)
            if pause_s:
                time.sleep(pause_s)
        producer.flush(timeout=30)
    finally:
        producer.close()


def _group_members(servers: str, group: str, topic: str) -> dict[str, set[int]]:
    """The group as the broker's coordinator sees it: member id -> partitions of topic it owns."""
    admin = kafka_clients.admin(servers, client_id="scaling-test-admin")
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    return {
        member["member_id"]: {
            number
            for owned in member["member_assignment"]["assigned_partitions"]
            if owned["topic"] == topic
            for number in owned["partitions"]
        }
        for member in description["members"]
    }


def test_killing_one_of_three_workers_mid_stream_loses_and_doubles_nothing_and_its_partitions_move(
    kafka_bootstrap_servers: str, topic_prefix: str, effects_database: Any, start_worker: Callable[..., Worker]
) -> None:
    servers, topic = kafka_bootstrap_servers, topic_prefix + TOPIC
    partitions = set(range(mai_contracts.topic(TOPIC).partitions))
    assert len(partitions) >= 6
    group = f"scaling-{uuid.uuid4().hex[:8]}"
    url = effects_database.url_for_workers
    began = time.monotonic()

    workers = [start_worker(f"worker-{n}", url, servers, topic_prefix, group) for n in (1, 2, 3)]
    try:
        wait_until(
            lambda: (
                all(w.last_assignment() for w in workers)
                and set().union(*(w.last_assignment() or set() for w in workers)) == partitions
            ),
            timeout=120,  # a rebalance waits for every member to rejoin: slow on a loaded 2-core machine
            what="three workers sharing the six partitions",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_log_tails(workers)}") from None
    first_assignment = {w.name: w.last_assignment() for w in workers}
    logger.info("assignment with three workers: %s", first_assignment)

    produced: list[str] = []
    producing = threading.Thread(
        target=_produce, args=(servers, topic, EVENTS_BEFORE_THE_KILL, produced, 0.01), daemon=True
    )
    producing.start()
    victim = workers[1]
    # Kill mid-stream: once the victim has applied some events and the stream is still flowing.
    wait_until(
        lambda: sum(1 for _e, w in _effects(effects_database) if w == victim.name) >= 20,
        timeout=30,
        what=f"{victim.name} applying events",
    )
    assert producing.is_alive(), "the stream should still be flowing when the worker is killed"
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    killed_after = len(_effects(effects_database))
    producing.join(timeout=60)
    _produce(servers, topic, EVENTS_AFTER_THE_KILL, produced, 0.0)

    survivors = [workers[0], workers[2]]
    wait_until(
        lambda: len({e for e, _w in _effects(effects_database)}) >= len(produced),
        timeout=60,
        what="every event applied",
    )
    wait_until(
        lambda: set().union(*(w.last_assignment() or set() for w in survivors)) == partitions,
        timeout=30,
        what="the survivors owning every partition",
    )
    time.sleep(1.0)  # room for a late double application to show up, were there one

    applied = _effects(effects_database)
    event_ids = [event_id for event_id, _worker in applied]
    assert len(produced) == EVENTS_BEFORE_THE_KILL + EVENTS_AFTER_THE_KILL
    assert sorted(event_ids) == sorted(produced), "an event was lost or applied twice"
    by_worker = {w.name: sum(1 for _e, name in applied if name == w.name) for w in workers}
    assert all(by_worker[w.name] > 0 for w in workers), by_worker
    # The victim's partitions moved to the survivors, which now own them all between them.
    final = {w.name: w.last_assignment() or set() for w in survivors}
    assert final[survivors[0].name].isdisjoint(final[survivors[1].name])
    assert final[survivors[0].name] | final[survivors[1].name] == partitions
    assert first_assignment[victim.name]
    # The broker's coordinator agrees: two members left, between them owning every partition.
    # The chassis names the group under the topic prefix, as it does the topics.
    members = wait_until(
        lambda: (found := _group_members(servers, topic_prefix + group, topic)) and len(found) == 2 and found,
        timeout=20,
        what="a stable group of two members",
    )
    assert set().union(*members.values()) == partitions
    assert sorted(members.values(), key=min) == sorted(final.values(), key=min)
    assert victim.process.returncode == -signal.SIGKILL
    logger.info(
        "%d events, %d applied before the kill, per worker %s, final assignment %s, in %.1fs",
        len(produced),
        killed_after,
        by_worker,
        final,
        time.monotonic() - began,
    )
