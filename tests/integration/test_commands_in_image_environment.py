"""Every command of every service starts with the images' environment, whatever it names for metrics.

The images set ``PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus`` and a pod's ``/tmp`` is a fresh, empty
volume: the directory does not exist when a worker, ``migrate`` or a maintenance command starts.
Each service's worker is started here with the image's environment (read from the Dockerfile) in
a fresh temporary directory standing in for ``/tmp``, and must relay an outbox row to its topic
once and apply a consumed event once — the crash loop this guards against published the same
batch again at every restart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from mai_chassis.testing import wait_until
from mai_devtools.local_platform import Platform
from mai_devtools.ports import free_port
from mai_devtools.roundtrip import (
    applied_count,
    metric_samples,
    produce_example,
    put_example_in_outbox,
    roundtrip_for,
    topic_has_event,
)
from mai_devtools.service_list import service_list

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: Every API service (deploy/services.yaml): web, worker and migrate in its image's environment.
SERVICES = [s.name for s in service_list().apis]
#: One maintenance command per service that has one (run with the same environment).
MAINTENANCE = {
    "identity-svc": ["rotate-keys"],
    "booking-svc": ["generate-slots", "--from", f"{date.today()}", "--to", f"{date.today()}"],
    "notify-svc": ["purge-notifications"],
    "audit-svc": ["anchor"],
}


def image_environment(service: str, tmp: Path) -> dict[str, str]:
    """The runtime stage's ENV of the Dockerfile, with ``/tmp`` moved to ``tmp`` (PATH aside)."""
    text = (ROOT / "Dockerfile").read_text()
    runtime = text[text.index("AS runtime") :]
    env: dict[str, str] = {}
    for instruction in re.findall(r"^ENV (.*?)(?<!\\)$", runtime.replace("\\\n", " "), flags=re.M | re.S):
        for name, value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", instruction):
            env[name] = value.replace("${SERVICE}", service)
    env.pop("PATH")
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    return {name: str(tmp) + value[4:] if value.startswith("/tmp/") else value for name, value in env.items()}


@pytest.fixture
def service_env(
    kafka_bootstrap_servers: str, database_factory: Callable[..., str], topic_prefix: str, tmp_path: Path
) -> Callable[[str], dict[str, str]]:
    def make(service: str) -> dict[str, str]:
        short = service.removesuffix("-svc")
        platform = Platform(
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            database_urls={short: database_factory(short)},
            smtp_port=free_port(),  # nothing listens: notifications wait for their retry
            services=[short],
            gateway=False,
            topic_prefix=topic_prefix,
            workdir=tmp_path / "data",
        )
        fresh_tmp = tmp_path / "tmp"
        fresh_tmp.mkdir()
        env = {
            name: value
            for name, value in platform._service_env(short).items()
            if name not in ("PROMETHEUS_MULTIPROC_DIR", "MAI_METRICS_DIR_READY", "MAI_OWN_METRICS_DIR")
        }
        env.update(image_environment(service, fresh_tmp), TMPDIR=str(fresh_tmp))
        # Peers the commands need named (not called here): identity-svc, for record-svc and the web's tokens.
        env.setdefault("IDENTITY_URL", f"http://127.0.0.1:{free_port()}")
        env.setdefault("JWT_JWKS_URL", f"{env['IDENTITY_URL']}/.well-known/jwks.json")
        return env

    return make


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def run(service: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / service), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("service", SERVICES)
def test_worker_relays_and_consumes_once_in_a_fresh_tmp(
    service: str,
    service_env: Callable[[str], dict[str, str]],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    tmp_path: Path,
    started: list[subprocess.Popen[bytes]],
) -> None:
    env = service_env(service)
    metrics_dir = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    assert not metrics_dir.exists()

    migrated = run(service, "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    if service in MAINTENANCE:
        maintenance = run(service, *MAINTENANCE[service], env=env)
        assert maintenance.returncode == 0, maintenance.stderr[-3000:]

    case = roundtrip_for(service)
    published_id = put_example_in_outbox(env["DATABASE_URL"], service, case.publishes) if case.publishes else None
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([str(BIN / service), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    started.append(worker)
    metrics_url = f"http://127.0.0.1:{env['METRICS_PORT']}"

    def healthy() -> bool:
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        try:
            return requests.get(f"{metrics_url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(healthy, timeout=60, what=f"{service} worker healthy")
    if case.publishes and published_id:
        assert topic_has_event(kafka_bootstrap_servers, topic_prefix, case.publishes, published_id) == 1

    consumed_id = None
    if case.consumes:
        consumed_id = produce_example(kafka_bootstrap_servers, topic_prefix, case.consumes)
        wait_until(lambda: applied_count(env["DATABASE_URL"], consumed_id) == 1, timeout=60, what="event applied")

    def published_counted() -> str | None:
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        try:
            text = requests.get(f"{metrics_url}/metrics", timeout=5).text
        except requests.RequestException:
            # A scrape that meets a process's metric file while it is being created is dropped
            # (prometheus_client's multi-process mode); Prometheus, like this, asks again.
            return None
        metric, labels = case.counted_metric
        return text if metric_samples(text, metric, service=service, **labels) >= 1 else None

    exposition = wait_until(published_counted, timeout=30, interval=0.5, what="published count in /metrics")
    if case.consumes:
        assert metric_samples(exposition, "events_processed_total", service=service, outcome="processed") >= 1
    # The worker kept its counts in the directory the image names, created for it.
    assert metrics_dir.is_dir() and list(metrics_dir.glob("*.db"))

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    # Still once after the worker stopped: nothing was published again, nothing applied twice.
    if case.publishes and published_id:
        assert topic_has_event(kafka_bootstrap_servers, topic_prefix, case.publishes, published_id) == 1
    if consumed_id:
        assert applied_count(env["DATABASE_URL"], consumed_id) == 1


def test_web_serves_metrics_from_a_directory_it_creates(
    service_env: Callable[[str], dict[str, str]], started: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    env = service_env("petition-svc")
    assert run("petition-svc", "migrate", env=env).returncode == 0
    port = free_port()
    web = subprocess.Popen(
        [str(BIN / "petition-svc"), "web", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.append(web)

    def answers() -> str | None:
        assert web.poll() is None
        try:
            requests.get(f"http://127.0.0.1:{port}/no-such-page", timeout=1)
            response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        except (requests.ConnectionError, requests.Timeout):
            return None  # not answering yet: a busy machine starts gunicorn's worker slowly
        counted = metric_samples(response.text, "http_requests_total", route="unmatched", status="404")
        return response.text if counted else None

    assert wait_until(answers, timeout=60, what="web /metrics")
    assert list(Path(env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"))
    web.terminate()
    assert web.wait(timeout=30) == 0


@pytest.mark.parametrize("where", ["cannot-be-created", "a-file"])
def test_an_unusable_metrics_directory_is_a_clear_startup_error(
    where: str, service_env: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    env = service_env("petition-svc")
    if where == "a-file":
        (tmp_path / "a-file").write_text("not a directory")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "a-file")
    else:
        env["PROMETHEUS_MULTIPROC_DIR"] = "/proc/no-such-place/prometheus"
    for command in ("migrate", "worker", "web"):
        result = run("petition-svc", command, env=env)
        assert result.returncode == 2, (command, result.stderr[-2000:])
        assert f"PROMETHEUS_MULTIPROC_DIR={env['PROMETHEUS_MULTIPROC_DIR']}" in result.stderr
        assert "Traceback" not in result.stderr


DEAD_NAMESAKE = """
import os, sys
from pathlib import Path
from mai_chassis.service import _prepare_metrics_directory

directory = Path(sys.argv[1])
namesake = directory / f"counter_{os.getpid()}.db"  # left by a dead process that had our pid
namesake.write_bytes(b"counts of the previous run")
other = directory / "counter_999999.db"  # another live process's counts
other.write_bytes(b"counts of another process")
_prepare_metrics_directory(web=False)
print(namesake.exists(), other.exists())
"""


def test_counts_of_a_dead_process_with_the_same_pid_are_dropped_and_no_other(tmp_path: Path) -> None:
    """A restarted container's worker is PID 1 again: the old PID 1's counts must not be added to its own."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(
        [sys.executable, "-c", DEAD_NAMESAKE, str(directory)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
