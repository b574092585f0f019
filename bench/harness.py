"""Shared benchmark pieces: a bounded HTTP load generator, gunicorn launcher, result tables and JSON.

Every benchmark measures the platform and its baseline in the same run on the same machine and
reports the ratio, since absolute numbers on a shared 2-core machine mean little.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from mai_devtools.ports import free_port

from bench.client import Client, Response

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", ROOT / "bench" / "results"))
BIN = Path(sys.executable).parent


@dataclass
class Row:
    figure: str
    unit: str
    value: float
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False, default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "throughput_per_s": round(self.throughput, 2),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else float("nan"),
        }

    @classmethod
    def combined(cls, results: Sequence[LoadResult]) -> LoadResult:
        """The slices of one measurement taken in turns with others, as one result."""
        total = cls(requests=0, errors=0, seconds=0.0)
        for result in results:
            total.requests += result.requests
            total.errors += result.errors
            total.seconds += result.seconds
            total.latencies.extend(result.latencies)
            for status, count in result.statuses.items():
                total.statuses[status] = total.statuses.get(status, 0) + count
        return total


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def process(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    ready_url: str | None = None,
    log_name: str = "process",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process for the duration of the block; its output goes to bench/results/logs/."""
    logs = RESULTS_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{log_name}.log", "wb") as log:
        proc = subprocess.Popen(
            list(command), env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            if ready_url:
                wait_http(ready_url)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def gunicorn(
    app: str, *, workers: int = 2, threads: int = 8, env: Mapping[str, str] | None = None, log_name: str = "gunicorn"
) -> Iterator[str]:
    """Serve a WSGI app (``module:callable``) with the same gunicorn settings the services use."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--no-control-socket",
        app,
    ]
    with process(command, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log_name=log_name):
        yield f"http://127.0.0.1:{port}"


#: The most requests one :func:`run_load` sends unless told otherwise.
MAX_REQUESTS = 100_000


def run_load(
    send: Callable[[Client, int], Response],
    *,
    concurrency: int = 8,
    duration: float = 10.0,
    max_requests: int = MAX_REQUESTS,
    warmup: float = 1.0,
    ok: Callable[[Response], bool] = lambda r: r.status_code < 400,
) -> LoadResult:
    """Closed-loop load: ``concurrency`` clients send back to back for ``duration`` seconds (bounded)."""
    lock = threading.Lock()
    counter = iter(range(max_requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    measuring = threading.Event()
    stop = threading.Event()

    def client() -> None:
        nonlocal errors
        with Client() as session:
            while not stop.is_set():
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                started = time.perf_counter()
                try:
                    response = send(session, n)
                    good = ok(response)
                    status = response.status_code
                except requests.RequestException:
                    good, status = False, 0
                elapsed = time.perf_counter() - started
                if measuring.is_set():
                    with lock:
                        latencies.append(elapsed)
                        statuses[status] = statuses.get(status, 0) + 1
                        if not good:
                            errors += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    measuring.set()
    started = time.perf_counter()
    deadline = started + duration
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    stop.set()
    elapsed = time.perf_counter() - started
    for thread in threads:
        thread.join(timeout=30)
    return LoadResult(requests=len(latencies), errors=errors, seconds=elapsed, latencies=latencies, statuses=statuses)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def report(name: str, title: str, rows: Sequence[Row], *, extra: Mapping[str, Any] | None = None) -> None:
    """Print the table (figure, unit, value, baseline, ratio) and write bench/results/<name>.json."""
    widths = (44, 10, 12, 12, 8)
    header = ("figure", "unit", "value", "baseline", "ratio")
    out = [f"\n## {title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = (row.figure, row.unit, _fmt(row.value), _fmt(row.baseline), _fmt(row.ratio))
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "name": name,
        "title": title,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "rows": [dict(asdict(row), ratio=row.ratio) for row in rows],
        "extra": dict(extra or {}),
    }
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2))
