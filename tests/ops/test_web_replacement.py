"""A web process replaced under traffic drops no request, as a rolling update does it in Kubernetes.

Two real `petition-svc web` processes (gunicorn through the chassis, as the image runs them) on
loopback, and a stand-in for the Service's endpoints: clients send petitions and read the
directory through whichever endpoints they last learnt, and learn changes only after a delay, as
kube-proxy and the ingress controller do. The replacement follows the manifests: the new process
becomes ready and joins the endpoints, the old one leaves them, sleeps through its preStop delay
(longer than the clients' delay), then receives SIGTERM and finishes what it holds. Every request
must succeed. The delays are scaled down from the manifests' (10 s preStop) but keep their order.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from local_postgres import free_port
from mai_chassis.migrations import upgrade

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: How late a client learns that the endpoints changed (kube-proxy, ingress-nginx).
PROPAGATION_SECONDS = 0.5
#: The old process's preStop sleep: longer than the propagation delay, as 10 s is in the manifests.
PRE_STOP_SECONDS = 2.0
CLIENTS = 4
PETITION_TEXT = "Semaforul de la intersecția străzilor Mihai Vodă și Sfinții Apostoli nu funcționează."
#: Each client sends until the replacement is over, and never more than this.
MAX_REQUESTS_PER_CLIENT = 2000


class WebProcess:
    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("petition-svc")), "web", "--bind", f"127.0.0.1:{self.port}"],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"petition-svc web exited with {self.process.returncode}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.url} not ready after {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Endpoints:
    """The Service's ready endpoints; readers see a change only PROPAGATION_SECONDS after it."""

    def __init__(self, first: str) -> None:
        self._history: list[tuple[float, list[str]]] = [(0.0, [first])]
        self._lock = threading.Lock()

    def set(self, urls: list[str]) -> None:
        with self._lock:
            self._history.append((time.monotonic(), urls))

    def seen_now(self) -> list[str]:
        horizon = time.monotonic() - PROPAGATION_SECONDS
        with self._lock:
            return [urls for when, urls in self._history if when <= horizon][-1]


@pytest.fixture
def web_environment(database_factory: Callable[..., str], tmp_path: Path) -> Iterator[dict[str, str]]:
    from petition.service import definition

    url = database_factory("replace")
    upgrade(url, definition.migrations)
    (tmp_path / "metrics").mkdir()
    yield {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")},
        "ENVIRONMENT": "development",
        "LOG_JSON": "true",
        "DATABASE_URL": url,
        # Requests write to the outbox only; nothing here publishes.
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
    }
    shutil.rmtree(tmp_path / "metrics", ignore_errors=True)


def test_a_web_process_replaced_under_traffic_fails_no_request(web_environment: dict[str, str], tmp_path: Path) -> None:
    old = WebProcess(web_environment, tmp_path / "old.log")
    new: WebProcess | None = None
    try:
        old.wait_ready()
        endpoints = Endpoints(old.url)
        outcomes: Counter[str] = Counter()
        served_by: Counter[str] = Counter()
        failures: list[str] = []
        lock = threading.Lock()
        started = threading.Barrier(CLIENTS + 1)
        replaced = threading.Event()

        def client(number: int) -> None:
            started.wait()
            with httpx.Client(timeout=10, headers={"Connection": "close"}) as http:
                for i in range(MAX_REQUESTS_PER_CLIENT):
                    if replaced.is_set():
                        break
                    urls = endpoints.seen_now()
                    base = urls[(number + i) % len(urls)]
                    try:
                        if i % 2:
                            response = http.get(f"{base}/api/v1/institutions")
                            ok = response.status_code == 200
                        else:
                            response = http.post(f"{base}/api/v1/petitions", json={
                                "kind": "petition", "institution": "IGPR", "field": "road-traffic",
                                "subject": f"Semafor defect {number}-{i}",
                                "text": PETITION_TEXT,
                                "name": "Ana Popescu", "email": f"ana.popescu.{number}.{i}@example.ro"})  # fmt: skip
                            ok = response.status_code == 201
                        outcome = "ok" if ok else f"HTTP {response.status_code}"
                    except httpx.TransportError as error:
                        outcome = f"{type(error).__name__}"
                    with lock:
                        outcomes[outcome] += 1
                        if outcome == "ok":
                            served_by["old" if base == old.url else "new"] += 1
                        else:
                            failures.append(f"{base} request {i}: {outcome}")
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.5)  # traffic on the old process alone

        # The rolling update: the new pod becomes ready and joins; the old one leaves the endpoints,
        # sleeps through preStop, then gets SIGTERM and drains.
        new = WebProcess(web_environment, tmp_path / "new.log")
        new.wait_ready()
        endpoints.set([old.url, new.url])
        time.sleep(PROPAGATION_SECONDS * 2)
        endpoints.set([new.url])
        time.sleep(PRE_STOP_SECONDS)
        old.process.send_signal(signal.SIGTERM)
        assert old.process.wait(timeout=30) == 0, "the old process did not shut down cleanly"
        time.sleep(0.5)  # traffic on the new process alone
        replaced.set()

        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert not failures, f"{len(failures)} failed requests: {failures[:10]}"
        assert outcomes["ok"] == sum(outcomes.values()) < CLIENTS * MAX_REQUESTS_PER_CLIENT
        assert served_by["old"] > 0 and served_by["new"] > 0, served_by
    finally:
        old.stop()
        if new is not None:
            new.stop()
