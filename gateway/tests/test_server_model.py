"""The real ``gateway web`` on its event loop: waiting requests hold no thread, the front ends' listener stays free."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from mai_devtools.ports import free_port

from .conftest import FakeUpstream, write_routes

BIN = Path(sys.executable).parent
#: Requests held waiting at once: more than the one thread a thread-per-request server would have.
CONNECTIONS = 4


@dataclass
class Gateway:
    public: str
    internal: str
    log: Path


@pytest.fixture
def gateway(tmp_path: Path, petition_upstream: FakeUpstream) -> Iterator[Gateway]:
    routes = write_routes(
        tmp_path / "routes.yaml",
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {
                "prefix": "/api/v1/institutions",
                "upstream": petition_upstream.url,
                "service": "petition-svc",
                "rate_limit": "2/minute",
            },
            {"prefix": "/", "upstream": petition_upstream.url, "service": "portal-svc"},
        ],
        defaults={"rate_limit": "100000/minute"},
    )
    public_port, internal_port = free_port(), free_port()
    env = {
        **os.environ,
        "GATEWAY_ROUTES_FILE": str(routes),
        "GATEWAY_INTERNAL_PORT": str(internal_port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "1",  # what a thread-per-request server would make of it: one at a time
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = tmp_path / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "gateway"),
                "web",
                *("--bind", f"127.0.0.1:{public_port}"),
                *("--internal-bind", f"127.0.0.1:{internal_port}"),
            ],
            env=env,
            stdout=out,
            stderr=out,
        )
    started = Gateway(f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{internal_port}", log)
    try:
        for base in (started.public, started.internal):
            _wait_healthy(base, log)
        yield started
    finally:
        petition_upstream.release.set()
        process.terminate()
        process.wait(timeout=30)


def _wait_healthy(base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the worker still starting
            pass
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


def _wait_for_arrivals(upstream: FakeUpstream, path: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(upstream.requests_to(path)) < count:
        arrived = len(upstream.requests_to(path))
        assert time.monotonic() < deadline, f"{arrived} of {count} requests reached the upstream"
        time.sleep(0.02)


def test_pages_waiting_on_their_upstream_leave_the_front_ends_api_calls_answered(gateway, petition_upstream):
    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        # Pages whose upstream has not answered are held on the public listener.
        pages = [pool.submit(requests.get, f"{gateway.public}/held/{n}", timeout=30) for n in range(CONNECTIONS)]
        _wait_for_arrivals(petition_upstream, "/held/", CONNECTIONS)

        # The portal's API call, on the internal listener, is answered all the same.
        call = requests.get(f"{gateway.internal}/api/v1/petitions/2024-000123", timeout=10)

        assert call.status_code == 200
        assert call.json()["path"] == "/api/v1/petitions/2024-000123"
        assert not any(page.done() for page in pages)
        petition_upstream.release.set()
        assert [page.result().status_code for page in pages] == [200] * CONNECTIONS


def test_more_waiting_requests_than_threads_are_all_in_flight_at_once(gateway, petition_upstream):
    waiting = CONNECTIONS - 1  # more than WEB_THREADS, one connection kept for the check below
    with ThreadPoolExecutor(max_workers=waiting) as pool:
        pages = [pool.submit(requests.get, f"{gateway.public}/held/{n}", timeout=30) for n in range(waiting)]

        _wait_for_arrivals(petition_upstream, "/held/", waiting)
        quick = requests.get(f"{gateway.public}/api/v1/petitions", timeout=10)

        assert quick.status_code == 200
        petition_upstream.release.set()
        assert [page.result().status_code for page in pages] == [200] * waiting


def test_the_rate_limit_and_readiness_work_in_the_event_loop_workers(gateway):
    statuses = [requests.get(f"{gateway.public}/api/v1/institutions", timeout=10).status_code for _ in range(3)]
    refused = requests.get(f"{gateway.internal}/api/v1/institutions", timeout=10)
    ready = requests.get(f"{gateway.public}/readyz", timeout=10)

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429  # one count per client, whichever listener it came in on
    assert int(refused.headers["Retry-After"]) >= 1
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"petition-svc": "ok", "portal-svc": "ok"}
