"""The real ``gateway web`` (gunicorn, two workers) in front of a fake upstream, over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from mai_devtools.ports import free_port

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def gateway_process(tmp_path_factory, module_petition_upstream, stopped_upstream_url):
    petition_upstream = module_petition_upstream
    tmp_path = tmp_path_factory.mktemp("gateway-process")
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        yaml.safe_dump(
            {
                "routes": [
                    {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
                    {"prefix": "/api/v1/offices", "upstream": stopped_upstream_url, "service": "booking-svc"},
                ]
            }
        )
    )
    port = free_port()
    log_path = tmp_path / "gateway.log"
    env = {
        **os.environ,
        "GATEWAY_ROUTES_FILE": str(routes),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "LOG_LEVEL": "DEBUG",  # a successful answer's line is written at DEBUG
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gateway"), "web", "--bind", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a busy machine starts two workers slowly
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or no worker booted yet
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.1)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_gateway_process_routes_and_logs_each_request_with_its_ids(gateway_process, module_petition_upstream):
    base, log_path = gateway_process
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    response = requests.get(
        f"{base}/api/v1/petitions/2024-000123",
        headers={"X-Request-ID": "portal-e2e-1", "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        timeout=5,
    )

    assert response.status_code == 200
    assert module_petition_upstream.seen[-1].headers["X-Request-ID"] == "portal-e2e-1"
    deadline = time.monotonic() + 5
    while not [line for line in log_path.read_text().splitlines() if "portal-e2e-1" in line]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    logged = [json.loads(line) for line in log_path.read_text().splitlines() if "portal-e2e-1" in line]
    assert all(entry["trace_id"] == trace_id and entry["request_id"] == "portal-e2e-1" for entry in logged)


def test_the_gateway_process_answers_a_stopped_upstream_with_a_quick_503(gateway_process):
    base, _log = gateway_process

    started = time.perf_counter()
    response = requests.post(f"{base}/api/v1/offices/1/slots", json={}, timeout=5)
    elapsed = time.perf_counter() - started

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert elapsed < 0.5


def test_the_gateway_process_exposes_route_metrics_across_workers(gateway_process):
    base, _log = gateway_process
    sample = 'gateway_requests_total{method="GET",route="/api/v1/petitions",status="200"} '

    def served() -> float:
        lines = [
            line for line in requests.get(f"{base}/metrics", timeout=5).text.splitlines() if line.startswith(sample)
        ]
        return float(lines[0].removeprefix(sample)) if lines else 0.0

    before = served()
    for _ in range(6):  # spread over both workers by the kernel
        requests.get(f"{base}/api/v1/petitions", timeout=5)

    assert served() == before + 6
