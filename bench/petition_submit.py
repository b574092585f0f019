"""Petition submit and status-lookup throughput and latency, beside a raw Flask "hello" on the same
gunicorn settings.

Starts, on loopback, a fresh PostgreSQL database (migrated), ``petition-svc web`` (gunicorn, 2
workers x 8 threads, as deployed), ``petition-svc worker`` (its outbox relay, on this run's own
topics) and the gateway in front of it; then drives ``POST /api/v1/petitions`` (JSON) and the
public status lookup (``POST /api/v1/petitions/status-lookup``, number + e-mail, over the petitions
just submitted) with the same closed-loop load generator used for the baseline, each for a bounded
time. Targets on a 2-core machine: submit throughput >= 25% of the raw baseline, with p99 <= 100 ms.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres \\
        python -m bench.petition_submit [--seconds 15] [--concurrency 8] [--no-gateway]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import requests
import yaml
from mai_chassis.migrations import upgrade
from mai_chassis.testing import create_database, drop_database, ensure_topics

from bench.client import Client, Response
from bench.harness import BIN, ROOT, LoadResult, Row, free_port, gunicorn, process, report, run_load

WORKERS = 2
THREADS = 8
TARGET_RATIO = 0.25
TARGET_P99_MS = 100.0
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


def submit_load(url: str, *, seconds: float, concurrency: int, registered: list[tuple[str, str]]) -> LoadResult:
    """Submits petitions; ``registered`` collects (registration number, e-mail) of each one."""

    def submit(session: Client, n: int) -> Response:
        body = petition(n)
        response = session.post(url, json=body, timeout=10)
        if response.status_code == 201:
            registered.append((response.json()["registration_number"], body["email"]))
        return response

    return run_load(submit, concurrency=concurrency, duration=seconds, ok=lambda response: response.status_code == 201)


def lookup_load(url: str, *, seconds: float, concurrency: int, registered: list[tuple[str, str]]) -> LoadResult:
    """Looks up the status of the submitted petitions by number and e-mail, round robin."""

    def look_up(session: Client, n: int) -> Response:
        number, email = registered[n % len(registered)]
        return session.post(url, json={"registration_number": number, "email": email}, timeout=10)

    def found(response: Response) -> bool:
        return response.status_code == 200 and response.json().get("status") == "registered"

    return run_load(look_up, concurrency=concurrency, duration=seconds, ok=found)


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
    ensure_topics(servers, ["petition.submitted", "petition.forwarded", "petition.answered", "petition.closed"],
                  prefix=prefix)  # fmt: skip
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
            ):
                check = requests.post(f"{service}/api/v1/petitions", json=petition(-1), timeout=10)
                if check.status_code != 201:
                    raise SystemExit(f"petition-svc does not register petitions: {check.status_code} {check.text}")
                baseline = run_load(
                    lambda session, _n: session.post(f"{hello}/hello", timeout=10),
                    concurrency=options.concurrency,
                    duration=options.seconds,
                    ok=lambda response: response.status_code == 201,
                )
                registered: list[tuple[str, str]] = []
                direct = submit_load(f"{service}/api/v1/petitions", seconds=options.seconds,
                                     concurrency=options.concurrency, registered=registered)  # fmt: skip
                lookups = lookup_load(f"{service}/api/v1/petitions/status-lookup", seconds=options.seconds,
                                      concurrency=options.concurrency, registered=registered)  # fmt: skip
                rows = rows_for("submit via petition-svc", direct, baseline)
                rows += rows_for("status lookup via petition-svc", lookups, baseline)
                if not options.no_gateway:
                    rows += _through_gateway(service, Path(scratch), options, baseline, registered)
        report(
            "petition_submit",
            f"Petition submit and status lookup vs raw Flask hello (gunicorn {WORKERS}x{THREADS} gthread, "
            f"{options.concurrency} clients, {options.seconds:.0f} s each)",
            rows,
            extra={"target_ratio": TARGET_RATIO, "target_p99_ms": TARGET_P99_MS},
        )
    finally:
        drop_database(admin_url, database_url)


def _through_gateway(
    service: str, scratch: Path, options: argparse.Namespace, baseline: LoadResult, registered: list[tuple[str, str]]
) -> list[Row]:
    if not (BIN / "gateway").exists():
        return []
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
        gateway = f"http://127.0.0.1:{port}"
        measured = submit_load(f"{gateway}/api/v1/petitions", seconds=options.seconds,
                               concurrency=options.concurrency, registered=registered)  # fmt: skip
        lookups = lookup_load(f"{gateway}/api/v1/petitions/status-lookup", seconds=options.seconds,
                              concurrency=options.concurrency, registered=registered)  # fmt: skip
    return rows_for("submit via gateway", measured, baseline) + rows_for("status lookup via gateway", lookups, baseline)


if __name__ == "__main__":
    main()
