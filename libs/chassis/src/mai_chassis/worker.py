"""The ``worker`` process: outbox relay and event consumers in threads, metrics, liveness, clean stop on SIGTERM.

Liveness (``/healthz``) asks two things of every loop: that its thread still runs and, for a
loop that reports its progress (a :class:`LoopProgress` as its ``progress`` attribute), that it
stamped that progress within ``stall_after`` seconds. A loop can stay alive and still stop
working — a Kafka consumer stuck inside the client, no longer polling nor heartbeating — and only
the second question notices it. A loop without ``progress`` (a third-party one) is judged by its
thread alone.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .metrics import register_collector, render_metrics
from .problems import PROBLEM_JSON, Problem

__all__ = [
    "DEFAULT_STALL_SECONDS",
    "MIN_STALL_SECONDS",
    "PAUSE_SLICE_SECONDS",
    "LoopProgress",
    "LoopTrouble",
    "Runnable",
    "WorkerHealth",
    "run_worker",
]

logger = logging.getLogger(__name__)

#: How long a loop may go without stamping its progress before ``/healthz`` fails (setting
#: ``WORKER_STALL_SECONDS``). The longest single wait inside one round of the chassis' loops is
#: 30 s: the outbox relay's ``flush(timeout=30)`` and an acknowledgement's ``get(timeout=30)``,
#: the redaction stream's flush, a dead letter's send, a connection checkout from the pool. Poll
#: timeouts (0.5 s) and idle waits (1 s) are far shorter, and back-offs stamp as they sleep (see
#: :meth:`LoopProgress.pause`). Four times the longest wait leaves room for a slow round without
#: letting a stuck consumer go unnoticed for long: with the probe's 3 failures 15 s apart, the pod
#: restarts about 3 minutes after the loop's last stamp.
DEFAULT_STALL_SECONDS = 120.0
#: The shortest limit a setting may ask for: below the longest single wait, a healthy loop would fail.
MIN_STALL_SECONDS = 30.0
#: A loop that pauses on purpose stamps at least this often meanwhile (well under any sane limit).
PAUSE_SLICE_SECONDS = 1.0


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


class LoopProgress:
    """When a worker loop last went round, on a monotonic clock: the loop stamps, liveness reads.

    A loop keeps one as its ``progress`` attribute and calls :meth:`stamp` each time a round (a
    poll, a batch, an idle wait) returns, and after each unit of work in a long round. Idleness is
    not a stall: an idle round returns after its wait and stamps like any other.
    """

    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        #: The loop's name in ``/healthz`` and in the ``loop`` label of the metric.
        self.name = name
        self._clock = clock
        self._last = clock()

    def stamp(self) -> None:
        self._last = self._clock()

    def seconds_since_stamp(self) -> float:
        return max(0.0, self._clock() - self._last)

    def pause(self, seconds: float, sleep: Callable[[float], object]) -> bool:
        """Sleep ``seconds`` through ``sleep`` (``stop.wait`` or ``time.sleep``), stamping every
        :data:`PAUSE_SLICE_SECONDS`: a back-off or an hour between rounds is deliberate, and must
        not read as a stall however long it is. True (at once) when ``sleep`` returns true, as
        ``stop.wait`` does once the worker stops."""
        remaining = seconds
        while remaining > 0:
            step = min(remaining, PAUSE_SLICE_SECONDS)
            interrupted = sleep(step)
            self.stamp()
            if interrupted:
                return True
            remaining -= step
        return False


@dataclass(frozen=True)
class LoopTrouble:
    """Why one loop makes the worker unhealthy: its thread ``ended``, or it ``stalled`` for ``seconds``."""

    loop: str
    reason: str
    seconds: float | None = None

    def describe(self, stall_after: float) -> str:
        if self.reason == "ended":
            return f"{self.loop}: its thread has ended"
        return f"{self.loop}: no progress for {self.seconds:.0f} s (limit {stall_after:.0f} s)"


@dataclass(frozen=True)
class _Watched:
    name: str
    thread: threading.Thread
    progress: LoopProgress | None


class WorkerHealth:
    """Liveness of the worker: every loop thread still running, every reporting loop making progress."""

    def __init__(self, *, stall_after: float = DEFAULT_STALL_SECONDS) -> None:
        if stall_after <= 0:
            raise ValueError(f"stall_after must be positive, not {stall_after}")
        self.stall_after = stall_after
        self._loops: list[_Watched] = []

    def watch(self, name: str, thread: threading.Thread, progress: LoopProgress | None = None) -> None:
        self._loops.append(_Watched(name, thread, progress))

    @property
    def threads(self) -> list[threading.Thread]:
        return [watched.thread for watched in self._loops]

    def progress(self) -> Iterator[LoopProgress]:
        """The progress of every loop that reports it."""
        return (watched.progress for watched in self._loops if watched.progress is not None)

    def troubles(self) -> list[LoopTrouble]:
        found = []
        for watched in self._loops:
            if not watched.thread.is_alive():
                found.append(LoopTrouble(watched.name, "ended"))
            elif watched.progress is not None:
                seconds = watched.progress.seconds_since_stamp()
                if seconds > self.stall_after:
                    found.append(LoopTrouble(watched.name, "stalled", round(seconds, 1)))
        return found

    def alive(self) -> bool:
        return not self.troubles()

    def threads_alive(self) -> bool:
        return all(watched.thread.is_alive() for watched in self._loops)

    def answer(self) -> tuple[int, bytes, str]:
        """``/healthz``'s status, body and content type: 200, or 503 with a problem naming each loop at fault."""
        troubles = self.troubles()
        if not troubles:
            return 200, b'{"status":"ok"}', "application/json"
        problem = Problem(
            503,
            "; ".join(trouble.describe(self.stall_after) for trouble in troubles),
            title="A worker loop has stopped or is not making progress",
            kind="worker-loop-stalled",
            loops=[
                {"loop": t.loop, "reason": t.reason}
                | ({"seconds_since_progress": t.seconds} if t.seconds is not None else {})
                for t in troubles
            ],
            stall_after_seconds=self.stall_after,
        )
        return 503, json.dumps(problem.to_dict()).encode(), PROBLEM_JSON


class _ProgressGauge(Collector):
    """Seconds since each reporting loop's last stamp, computed at scrape time."""

    def __init__(self, health: WorkerHealth) -> None:
        self._health = health
        self.identity = "worker_loop_seconds_since_progress"

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "worker_loop_seconds_since_progress",
            "Seconds since each worker loop last stamped its progress (liveness fails past WORKER_STALL_SECONDS).",
            labels=["loop"],
        )
        for progress in self._health.progress():
            family.add_metric([progress.name], progress.seconds_since_stamp())
        yield family


def _metrics_server(port: int, health: WorkerHealth) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = render_metrics()
                status = 200
            elif self.path == "/healthz":
                status, body, content_type = health.answer()
            else:
                body, content_type, status = b"not found", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 (scraped from the pod network)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def _report_stalls(health: WorkerHealth, stalled: set[str]) -> set[str]:
    """Log each loop once when it stalls and once when it goes round again; returns the stalled names."""
    now = {trouble.loop: trouble for trouble in health.troubles() if trouble.reason == "stalled"}
    for name in now.keys() - stalled:
        logger.error(
            "worker loop %s has made no progress for %.0f s (limit %.0f s); /healthz fails",
            name,
            now[name].seconds,
            health.stall_after,
        )
    for name in stalled - now.keys():
        logger.info("worker loop %s is making progress again", name)
    return set(now)


def run_worker(
    loops: Iterable[Runnable],
    *,
    metrics_port: int | None = None,
    stop: threading.Event | None = None,
    install_signal_handlers: bool = True,
    on_started: Callable[[], None] | None = None,
    stall_after: float = DEFAULT_STALL_SECONDS,
) -> None:
    """Run every loop in its own thread until SIGTERM/SIGINT (or ``stop``), then join them.

    A loop whose thread ends stops the worker (so that it is restarted); a loop that stalls makes
    ``/healthz`` fail, and the liveness probe restarts the pod (a stuck thread cannot be joined).
    """
    stop = stop or threading.Event()
    if install_signal_handlers:

        def _request_stop(signum: int, _frame: Any) -> None:
            logger.info("signal %s received: finishing current work and stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)

    health = WorkerHealth(stall_after=stall_after)
    register_collector(_ProgressGauge(health))
    server = _metrics_server(metrics_port, health) if metrics_port else None
    for loop in loops:
        progress = getattr(loop, "progress", None)
        if not isinstance(progress, LoopProgress):
            progress = None
        name = progress.name if progress is not None else type(loop).__name__
        thread = threading.Thread(target=loop.run, args=(stop,), name=name, daemon=True)
        health.watch(name, thread, progress)
        if progress is not None:
            progress.stamp()  # the limit counts from the start, not from when the loop was built
        thread.start()
    if on_started:
        on_started()
    stalled: set[str] = set()
    try:
        while not stop.is_set():
            if not health.threads_alive():
                logger.error("a worker loop died; stopping the worker so that it is restarted")
                stop.set()
                break
            stalled = _report_stalls(health, stalled)
            stop.wait(1.0)
    finally:
        for thread in health.threads:
            thread.join(timeout=30)
        if server is not None:
            server.shutdown()
            server.server_close()
    logger.info("worker stopped")
