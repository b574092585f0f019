"""Petition submit and status-lookup throughput and latency, beside a raw Flask "hello" on the same
gunicorn settings.

Starts, on loopback, a fresh PostgreSQL database (migrated), ``petition-svc web`` (gunicorn, 2
workers x 8 threads, as deployed), ``petition-svc worker`` (its outbox relay, on this run's own
topics) and the gateway in front of it; then drives ``POST /api/v1/petitions`` (JSON) and the
public status lookup (``POST /api/v1/petitions/status-lookup``, number + e-mail, over the petitions
just submitted) with the same closed-loop load generator used for the baseline, each for a bounded
time. The measurements that are compared are taken in turns, in short slices (hello, submit directly,
submit through the gateway, hello, ...; then lookups directly and through the gateway), so that each
sees the same background work of a shared machine (the outbox relay, the broker, the database's own
housekeeping) rather than whatever happened to run during its own quarter-minute. Targets on a
2-core machine: submit throughput >= 25% of the raw baseline with p99 <= 100 ms, lookups >= 50%, and
through the gateway >= 80% of directly.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        python -m bench.petition_submit [--seconds 15] [--concurrency 8] [--no-gateway]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import yaml
from mai_chassis.migrations import upgrade
from mai_chassis.testing import create_database, drop_database, ensure_topics

from bench.client import Client, Response
from bench.harness import BIN, MAX_REQUESTS, ROOT, LoadResult, Row, free_port, gunicorn, process, report, run_load

WORKERS = 2
THREADS = 8
TARGET_RATIO = 0.25
TARGET_P99_MS = 100.0
#: Each measurement is taken in this many slices, in turns with the ones it is compared with.
SLICES = 5
MIGRATIONS = ROOT / "services" / "petition-svc" / "src" / "petition" / "migrations"


SPREAD = ["MAI", "IGPR", "IGPF", "IGJR", "IGSU", "IGI", "DGP", "DRPCIV", "DEPABD", "IGAV", "DGA"]
SPREAD_ACROSS_INSTITUTIONS = False


def petition(n: int) -> dict[str, Any]:
    # One institution: every submit queues on the same registration counter (the worst case).
    institution = SPREAD[n % len(SPREAD)] if SPREAD_ACROSS_INSTITUTIONS and n >= 0 else "IGPR"
    return {
        "kind": "petition",
        "institution": institution,
        "field": "staff-conduct",
        "subject": f"Semafor defect {n}",
        "text": "Semaforul de la intersecție nu funcționează de trei zile; vă rog să interveniți.",
        "name": "Ana Popescu",
        "email": f"ana.{n}@example.ro",
    }


def submit_load(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    registered: list[tuple[str, str]],
    first: int = 0,
    warmup: float = 1.0,
) -> LoadResult:
    """Submits petitions (numbered from ``first``); ``registered`` collects (registration number,
    e-mail) of each one."""

    def submit(session: Client, n: int) -> Response:
        body = petition(first + n)
        response = session.post(url, json=body, timeout=10)
        if response.status_code == 201:
            registered.append((response.json()["registration_number"], body["email"]))
        return response

    return run_load(
        submit,
        concurrency=concurrency,
        duration=seconds,
        warmup=warmup,
        ok=lambda response: response.status_code == 201,
    )


def lookup_load(
    url: str, *, seconds: float, concurrency: int, registered: list[tuple[str, str]], warmup: float = 1.0
) -> LoadResult:
    """Looks up the status of the submitted petitions by number and e-mail, round robin."""

    def look_up(session: Client, n: int) -> Response:
        number, email = registered[n % len(registered)]
        return session.post(url, json={"registration_number": number, "email": email}, timeout=10)

    def found(response: Response) -> bool:
        return response.status_code == 200 and response.json().get("status") == "registered"

    return run_load(look_up, concurrency=concurrency, duration=seconds, warmup=warmup, ok=found)


def rows_for(name: str, measured: LoadResult, baseline: LoadResult) -> list[Row]:
    return [
        Row(f"{name}: throughput", "req/s", measured.throughput, baseline.throughput),
        Row(f"{name}: p50 latency", "ms", measured.percentile(50), baseline.percentile(50)),
        Row(f"{name}: p95 latency", "ms", measured.percentile(95), baseline.percentile(95)),
        Row(f"{name}: p99 latency", "ms", measured.percentile(99), baseline.percentile(99)),
        Row(f"{name}: errors", "count", measured.errors, baseline.errors),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per target")
    parser.add_argument("--concurrency", type=int, default=8, help="clients sending back to back")
    parser.add_argument("--no-gateway", action="store_true", help="measure petition-svc directly only")
    parser.add_argument("--spread", action="store_true", help="submit to 11 institutions in turn, not one")
    options = parser.parse_args()
    global SPREAD_ACROSS_INSTITUTIONS
    SPREAD_ACROSS_INSTITUTIONS = options.spread

    admin_url = os.environ["DATABASE_URL"]
    servers = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    ensure_topics(
        servers, ["petition.submitted", "petition.forwarded", "petition.answered", "petition.closed"], prefix=prefix
    )
    database_url = create_database(admin_url, "bench_petition")
    try:
        upgrade(database_url, MIGRATIONS)
        with tempfile.TemporaryDirectory(prefix="petition-bench-") as scratch:
            env = {
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": servers,
                "KAFKA_TOPIC_PREFIX": prefix,
                "ATTACHMENTS_DIR": str(Path(scratch) / "attachments"),
                "WEB_CONCURRENCY": str(WORKERS),
                "WEB_THREADS": str(THREADS),
                "LOG_LEVEL": "WARNING",
                "PROMETHEUS_MULTIPROC_DIR": str(Path(scratch) / "metrics"),
                "METRICS_PORT": str(free_port()),
            }
            port = free_port()
            service = f"http://127.0.0.1:{port}"
            with (
                gunicorn("bench.hello_app:app", workers=WORKERS, threads=THREADS, log_name="hello_baseline") as hello,
                process([str(BIN / "petition-svc"), "worker"], env=env, log_name="petition_worker"),
                process(
                    [str(BIN / "petition-svc"), "web", "--bind", f"127.0.0.1:{port}"],
                    env=env,
                    ready_url=f"{service}/healthz",
                    log_name="petition_web",
                ),
                _gateway_before(service, Path(scratch), enabled=not options.no_gateway) as gateway,
            ):
                check = requests.post(f"{service}/api/v1/petitions", json=petition(-1), timeout=10)
                if check.status_code != 201:
                    raise SystemExit(f"petition-svc does not register petitions: {check.status_code} {check.text}")
                rows = _measure(hello, service, gateway, options)
        report(
            "petition_submit",
            f"Petition submit and status lookup vs raw Flask hello (gunicorn {WORKERS}x{THREADS} gthread, "
            f"{options.concurrency} clients, {options.seconds:.0f} s each in {SLICES} slices taken in turns)",
            rows,
            extra={"target_ratio": TARGET_RATIO, "target_p99_ms": TARGET_P99_MS, "slices": SLICES},
        )
    finally:
        drop_database(admin_url, database_url)


def _measure(hello: str, service: str, gateway: str | None, options: argparse.Namespace) -> list[Row]:
    """hello, submits and lookups, directly and through the gateway, each in slices taken in turns."""
    seconds, concurrency = options.seconds / SLICES, options.concurrency
    registered: list[tuple[str, str]] = []
    targets = {"direct": service, **({"gateway": gateway} if gateway else {})}
    hello_slices: list[LoadResult] = []
    submits: dict[str, list[LoadResult]] = {name: [] for name in targets}
    lookups: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for _ in range(SLICES):
        hello_slices.append(
            run_load(
                lambda session, _n: session.post(f"{hello}/hello", timeout=10),
                concurrency=concurrency,
                duration=seconds,
                warmup=0.5,
                ok=lambda response: response.status_code == 201,
            )
        )
        for name, base in targets.items():
            # Each slice's petitions numbered apart (a slice sends at most MAX_REQUESTS).
            first = MAX_REQUESTS * sum(len(done) for done in submits.values())
            submits[name].append(
                submit_load(
                    f"{base}/api/v1/petitions",
                    seconds=seconds,
                    concurrency=concurrency,
                    registered=registered,
                    first=first,
                    warmup=0.5,
                )
            )
    for _ in range(SLICES):
        for name, base in targets.items():
            lookups[name].append(
                lookup_load(
                    f"{base}/api/v1/petitions/status-lookup",
                    seconds=seconds,
                    concurrency=concurrency,
                    registered=registered,
                    warmup=0.5,
                )
            )
    baseline = LoadResult.combined(hello_slices)
    rows = rows_for("submit via petition-svc", LoadResult.combined(submits["direct"]), baseline)
    rows += rows_for("status lookup via petition-svc", LoadResult.combined(lookups["direct"]), baseline)
    if gateway:
        rows += rows_for("submit via gateway", LoadResult.combined(submits["gateway"]), baseline)
        rows += rows_for("status lookup via gateway", LoadResult.combined(lookups["gateway"]), baseline)
    return rows


@contextlib.contextmanager
def _gateway_before(service: str, scratch: Path, *, enabled: bool) -> Iterator[str | None]:
    """The real gateway routing the petition API to ``service``; None when it is not measured."""
    if not enabled or not (BIN / "gateway").exists():
        yield None
        return
    routes = scratch / "routes.yaml"
    routes.write_text(
        yaml.safe_dump(
            {
                "routes": [
                    {
                        "prefix": "/api/v1/petitions",
                        "upstream": service,
                        "service": "petition-svc",
                        "rate_limit": "1000000/minute",  # exercised, never reached
                        "methods": ["GET", "POST"],
                    }
                ]
            }
        )
    )
    port = free_port()
    env = {
        "GATEWAY_ROUTES_FILE": str(routes),
        "WEB_CONCURRENCY": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "gateway-metrics"),
    }
    with process(
        [str(BIN / "gateway"), "web", "--bind", f"127.0.0.1:{port}"],
        env=env,
        ready_url=f"http://127.0.0.1:{port}/healthz",
        log_name="petition_gateway",
    ):
        yield f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    main()
