"""The worker's liveness: a loop that stops going round fails /healthz, an idle or backing-off one never does.

Time is a fake monotonic clock moved by the test (or by a fake wait, poll or sleep), never the
machine's: no assertion races a real deadline.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import mai_contracts
import pytest
from mai_chassis import Database, EventConsumer, OutboxRelay
from mai_chassis.clock import ManualMonotonic
from mai_chassis.events import build_event, encode_event
from mai_chassis.idempotency import IdempotencyPurge
from mai_chassis.problems import PROBLEM_JSON
from mai_chassis.worker import PAUSE_SLICE_SECONDS, LoopProgress, WorkerHealth, _report_stalls, run_worker
from mai_devtools.ports import free_port
from sqlalchemy.exc import OperationalError

LIMIT = 120.0
EVENT_TYPE = "ro.mai.petition.submitted.v1"


class Staleness:
    """The longest a loop went without a stamp, measured at each wait it begins (its age then plus the wait)."""

    def __init__(self, progress: LoopProgress) -> None:
        self.progress = progress
        self.longest = 0.0
        self.waits = 0

    def waiting(self, seconds: float) -> None:
        self.longest = max(self.longest, self.progress.seconds_since_stamp() + seconds)
        self.waits += 1


class FakeTimeStop(threading.Event):
    """A stop event for a loop run in the test's own thread: each wait moves the fake clock on by what
    it waits, and the worker is stopped once the clock has moved ``run_for`` seconds."""

    def __init__(self, clock: ManualMonotonic, staleness: Staleness, run_for: float) -> None:
        super().__init__()
        self.clock, self.staleness, self.until = clock, staleness, clock.now + run_for

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None, "a worker loop never waits without a timeout"
        self.staleness.waiting(timeout)
        self.clock.advance(timeout)
        if self.clock.now >= self.until:
            self.set()
        return self.is_set()


@pytest.fixture
def clock() -> ManualMonotonic:
    return ManualMonotonic(start=1000.0)


@pytest.fixture
def running_thread() -> Iterator[threading.Thread]:
    """A thread that stays alive until the test ends."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait, daemon=True)
    thread.start()
    yield thread
    release.set()
    thread.join()


@pytest.fixture
def ended_thread() -> threading.Thread:
    thread = threading.Thread(target=lambda: None, daemon=True)
    thread.start()
    thread.join()
    return thread


# -- WorkerHealth ------------------------------------------------------------------------------


def test_a_loop_that_stops_stamping_fails_liveness_once_the_limit_has_passed(
    clock: ManualMonotonic, running_thread: threading.Thread
) -> None:
    health = WorkerHealth(stall_after=LIMIT)
    health.watch("consumer:petition-svc", running_thread, LoopProgress("consumer:petition-svc", clock=clock))

    clock.advance(LIMIT)
    assert health.answer() == (200, b'{"status":"ok"}', "application/json")

    clock.advance(64)
    status, body, content_type = health.answer()
    assert (status, content_type) == (503, PROBLEM_JSON)
    problem = json.loads(body)
    assert problem["status"] == 503
    assert problem["detail"] == "consumer:petition-svc: no progress for 184 s (limit 120 s)"
    assert problem["loops"] == [{"loop": "consumer:petition-svc", "reason": "stalled", "seconds_since_progress": 184.0}]
    assert problem["stall_after_seconds"] == LIMIT


def test_a_stalled_loop_that_stamps_again_is_healthy_again(
    clock: ManualMonotonic, running_thread: threading.Thread
) -> None:
    progress = LoopProgress("outbox-relay", clock=clock)
    health = WorkerHealth(stall_after=LIMIT)
    health.watch("outbox-relay", running_thread, progress)
    clock.advance(LIMIT + 1)
    assert not health.alive()

    progress.stamp()

    assert health.alive()
    assert health.answer()[0] == 200


def test_a_loop_whose_thread_ended_fails_liveness_however_fresh_its_stamp(
    clock: ManualMonotonic, ended_thread: threading.Thread
) -> None:
    health = WorkerHealth(stall_after=LIMIT)
    health.watch("outbox-relay", ended_thread, LoopProgress("outbox-relay", clock=clock))

    status, body, _ = health.answer()

    assert status == 503
    assert json.loads(body)["loops"] == [{"loop": "outbox-relay", "reason": "ended"}]
    assert not health.threads_alive()


def test_a_loop_that_reports_no_progress_is_judged_by_its_thread_alone(
    clock: ManualMonotonic, running_thread: threading.Thread, ended_thread: threading.Thread
) -> None:
    health = WorkerHealth(stall_after=LIMIT)
    health.watch("ThirdPartyLoop", running_thread)
    clock.advance(10 * LIMIT)
    assert health.answer()[0] == 200

    health.watch("AnotherThirdPartyLoop", ended_thread)

    status, body, _ = health.answer()
    assert status == 503
    assert json.loads(body)["detail"] == "AnotherThirdPartyLoop: its thread has ended"


def test_a_stall_is_logged_once_when_it_starts_and_once_when_it_ends(
    clock: ManualMonotonic, running_thread: threading.Thread, caplog: pytest.LogCaptureFixture
) -> None:
    progress = LoopProgress("idempotency-purge", clock=clock)
    health = WorkerHealth(stall_after=LIMIT)
    health.watch("idempotency-purge", running_thread, progress)
    caplog.set_level(logging.INFO, logger="mai_chassis.worker")

    clock.advance(LIMIT + 5)
    stalled = _report_stalls(health, set())
    stalled = _report_stalls(health, stalled)
    progress.stamp()
    stalled = _report_stalls(health, stalled)

    assert stalled == set()
    assert [record.getMessage() for record in caplog.records] == [
        "worker loop idempotency-purge has made no progress for 125 s (limit 120 s); /healthz fails",
        "worker loop idempotency-purge is making progress again",
    ]


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        WorkerHealth(stall_after=0)


# -- LoopProgress.pause ------------------------------------------------------------------------


def test_a_long_pause_stamps_every_slice_and_ends_at_once_when_the_worker_stops(clock: ManualMonotonic) -> None:
    progress = LoopProgress("idempotency-purge", clock=clock)
    slept: list[float] = []

    def sleep(seconds: float) -> bool:
        assert progress.seconds_since_stamp() == 0.0  # stamped before each slice
        slept.append(seconds)
        clock.advance(seconds)
        return len(slept) == 5  # the worker stops during the fifth slice

    assert progress.pause(3600.0, sleep) is True
    assert slept == [PAUSE_SLICE_SECONDS] * 5
    assert progress.seconds_since_stamp() == 0.0


def test_a_pause_that_runs_its_course_sleeps_exactly_its_length(clock: ManualMonotonic) -> None:
    progress = LoopProgress("consumer:test", clock=clock)
    slept: list[float] = []

    assert progress.pause(2.5, slept.append) is False
    assert slept == [1.0, 1.0, 0.5]


# -- the chassis' loops, driven on the fake clock ----------------------------------------------


def test_an_idle_outbox_relay_keeps_stamping(sqlite_database: Database, clock: ManualMonotonic) -> None:
    # Idle waits of a second (SQLite cannot LISTEN: the relay polls at its idle interval).
    relay = OutboxRelay(sqlite_database, service="test-svc", bootstrap_servers="127.0.0.1:1", idle_interval=1.0)
    relay.progress = LoopProgress("outbox-relay", clock=clock)
    staleness = Staleness(relay.progress)

    relay.run(FakeTimeStop(clock, staleness, run_for=2 * LIMIT))

    assert staleness.waits == 2 * LIMIT  # it went round while idle, once a second
    assert staleness.longest <= relay.idle_timeout


def test_an_outbox_relay_backing_off_longer_than_the_limit_keeps_stamping(
    sqlite_database: Database, clock: ManualMonotonic, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = OutboxRelay(sqlite_database, service="test-svc", bootstrap_servers="127.0.0.1:1", max_backoff=10 * LIMIT)
    relay.progress = LoopProgress("outbox-relay", clock=clock)
    attempts: list[float] = []

    def broker_away() -> int:
        attempts.append(clock.now)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(relay, "publish_batch", broker_away)
    staleness = Staleness(relay.progress)

    relay.run(FakeTimeStop(clock, staleness, run_for=60 * LIMIT))

    assert max(later - earlier for earlier, later in itertools.pairwise(attempts)) == 10 * LIMIT
    assert staleness.longest <= PAUSE_SLICE_SECONDS


class IdleKafkaConsumer:
    """A Kafka consumer with nothing to deliver: each poll waits out its timeout on the fake clock."""

    def __init__(self, clock: ManualMonotonic, staleness: Staleness, stop: threading.Event, run_for: float) -> None:
        self.clock, self.staleness, self.stop, self.until = clock, staleness, stop, clock.now + run_for
        self.polls = 0

    def poll(self, timeout_ms: int) -> dict[Any, Any]:
        self.polls += 1
        self.staleness.waiting(timeout_ms / 1000)
        self.clock.advance(timeout_ms / 1000)
        if self.clock.now >= self.until:
            self.stop.set()
        return {}

    def assignment(self) -> set[Any]:
        return set()

    def close(self, autocommit: bool = True) -> None:
        pass


def _consumer(database: Database, handler: Any, clock: ManualMonotonic, **options: Any) -> EventConsumer:
    consumer = EventConsumer(
        database,
        service="test-svc",
        group_id="test-group",
        bootstrap_servers="127.0.0.1:1",
        handlers={EVENT_TYPE: handler},
        **options,
    )
    consumer.progress = LoopProgress("consumer:test-group", clock=clock)
    return consumer


def test_an_idle_consumer_keeps_stamping(sqlite_database: Database, clock: ManualMonotonic) -> None:
    consumer = _consumer(sqlite_database, lambda uow, event: None, clock)
    staleness = Staleness(consumer.progress)
    stop = threading.Event()
    kafka = IdleKafkaConsumer(clock, staleness, stop, run_for=10 * LIMIT)
    consumer._make_consumer = lambda: kafka  # type: ignore[method-assign]

    consumer.run(stop)

    assert kafka.polls == 10 * LIMIT / 0.5
    assert staleness.longest <= 0.5


def test_a_consumer_waiting_out_a_database_outage_longer_than_the_limit_keeps_stamping(
    sqlite_database: Database, clock: ManualMonotonic
) -> None:
    outage = {"failures": 12}

    def handler(uow: Any, event: Any) -> None:
        if outage["failures"]:
            outage["failures"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    staleness: Staleness | None = None

    def sleep(seconds: float) -> None:
        assert staleness is not None
        staleness.waiting(seconds)
        clock.advance(seconds)

    consumer = _consumer(sqlite_database, handler, clock, sleep=sleep, initial_backoff=5.0, max_backoff=LIMIT + 30)
    staleness = Staleness(consumer.progress)
    started = clock.now
    data = dict(mai_contracts.schema(EVENT_TYPE)["examples"][0], petition_id=str(uuid.uuid4()))
    value = encode_event(build_event(EVENT_TYPE, source="petition-svc", subject=data["petition_id"], data=data))

    outcome = consumer.process("petition.submitted", value, None)

    assert outcome.name == "processed"
    assert clock.now - started > 3 * LIMIT  # the outage outlasted the limit several times
    assert staleness.longest <= PAUSE_SLICE_SECONDS


def test_the_idempotency_purge_stamps_through_the_hour_between_rounds(
    sqlite_database: Database, clock: ManualMonotonic
) -> None:
    purge = IdempotencyPurge(sqlite_database)
    purge.progress = LoopProgress("idempotency-purge", clock=clock)
    staleness = Staleness(purge.progress)

    purge.run(FakeTimeStop(clock, staleness, run_for=2 * purge.interval))

    assert staleness.waits == 2 * purge.interval / PAUSE_SLICE_SECONDS
    assert staleness.longest <= PAUSE_SLICE_SECONDS


# -- the worker process' /healthz and /metrics -------------------------------------------------


class WaitingLoop:
    """A loop that reports progress and then waits for the stop, stamping no more (a stuck loop)."""

    def __init__(self, clock: ManualMonotonic) -> None:
        self.progress = LoopProgress("stuck-loop", clock=clock)

    def run(self, stop: threading.Event) -> None:
        stop.wait()


class ThirdPartyLoop:
    def run(self, stop: threading.Event) -> None:
        stop.wait()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_worker_answers_503_naming_the_stuck_loop_and_exports_its_age(clock: ManualMonotonic) -> None:
    port = free_port()
    stop = threading.Event()
    started = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=([WaitingLoop(clock), ThirdPartyLoop()],),
        kwargs={
            "metrics_port": port,
            "stop": stop,
            "install_signal_handlers": False,
            "on_started": started.set,
            "stall_after": LIMIT,
        },
        daemon=True,
    )
    worker.start()
    try:
        assert started.wait(10)
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/healthz")[0] == 200

        clock.advance(LIMIT + 30)

        status, content_type, body = _get(f"{base}/healthz")
        assert (status, content_type) == (503, PROBLEM_JSON)
        assert json.loads(body)["detail"] == "stuck-loop: no progress for 150 s (limit 120 s)"
        metrics = _get(f"{base}/metrics")[2].decode()
        assert 'worker_loop_seconds_since_progress{loop="stuck-loop"} 150.0' in metrics
        assert "ThirdPartyLoop" not in metrics  # a loop that reports nothing has no series
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
