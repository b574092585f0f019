"""booking-svc under load: slot searches/s and bookings/s with p99, and a 500-contender race for one slot.

The service runs under gunicorn exactly as in production (`booking-svc web`, 2 workers x 8 threads)
on a fresh PostgreSQL database; the baseline is bench/hello_app.py under the same gunicorn settings,
driven by the same client. Search and booking are measured again through the gateway, its
per-address limit lifted (the whole load comes from one address). The per-citizen limits are raised
for the throughput figures, whose load comes from a few hundred synthetic citizens. Bounded: every
phase has a duration or a request cap, the race has a timeout. Run: `python -m bench.booking_slots`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from booking.catalog import load_catalog
from booking.slot_horizon import generate_between
from booking.tables import Application, Slot
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from mai_chassis.testing import TokenIssuer, create_database, drop_database, serve_jwks
from sqlalchemy import insert, select, text

from bench.harness import BIN, ROOT, LoadResult, Row, free_port, gunicorn, process, report, run_load

OFFICE = "IGI-B"
MIGRATIONS = ROOT / "services" / "booking-svc" / "src" / "booking" / "migrations"
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
BOOKERS = int(os.environ.get("BENCH_BOOKERS", "400"))
RACE_CONTENDERS = int(os.environ.get("BENCH_RACE_CONTENDERS", "500"))
SEARCHERS = 200


def seed_applications(database: Database, count: int) -> list[tuple[str, str]]:
    """Applications whose documents are already accepted: (citizen_id, application_id) pairs."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "citizen_id": str(uuid.uuid4()),
            "application_type": "travel-document",
            "office": OFFICE,
            "status": "documents_accepted",
            "submission_number": 1,
            "recipient_email": "bench@example.org",
            "recipient_name": "Bench Applicant",
            "recipient_language": "en",
            "created_at": now,
            "submitted_at": now,
        }
        for _ in range(count)
    ]
    with database.engine.begin() as connection:
        connection.execute(insert(Application), rows)
    return [(row["citizen_id"], row["id"]) for row in rows]


def race(base_url: str, slot_id: int, contenders: list[tuple[str, str]], issuer: TokenIssuer) -> dict[str, Any]:
    tokens = [issuer.citizen(citizen) for citizen, _ in contenders]
    barrier = threading.Barrier(len(contenders), timeout=120)
    latencies: list[float] = []
    lock = threading.Lock()

    def contend(index: int) -> int:
        session = requests.Session()
        session.get(base_url + "/healthz", timeout=30)  # connected before the start signal
        barrier.wait()
        started = time.perf_counter()
        try:
            status = session.post(
                base_url + "/api/v1/appointments",
                json={"application_id": contenders[index][1], "slot_id": slot_id},
                headers={"Authorization": f"Bearer {tokens[index]}"},
                timeout=120,
            ).status_code
        except requests.RequestException:
            status = 0
        with lock:
            latencies.append(time.perf_counter() - started)
        return status

    started = time.perf_counter()
    with ThreadPoolExecutor(len(contenders)) as pool:
        statuses = list(pool.map(contend, range(len(contenders))))
    wall = time.perf_counter() - started
    result = LoadResult(requests=len(statuses), errors=0, seconds=wall, latencies=latencies)
    return {
        "winners": statuses.count(201),
        "refused_409": statuses.count(409),
        "other": len(statuses) - statuses.count(201) - statuses.count(409),
        "p99_ms": result.percentile(99),
        "wall_s": wall,
    }


def through_gateway(
    upstream: str,
    workdir: Path,
    searchers: list[str],
    issuer: TokenIssuer,
    bookers: list[tuple[str, str]],
    slots: list[int],
    date_from: str,
    date_to: str,
) -> tuple[LoadResult, LoadResult] | None:
    """The same search and booking load through the platform's gateway (None if it cannot start)."""
    gateway_bin = BIN / "gateway"
    if not gateway_bin.exists():
        return None
    routes = workdir / "routes.yaml"
    # The gateway limits per client address; the benchmark is one address, so the limits are lifted.
    routes.write_text(
        "defaults:\n  timeout_seconds: 30\n  max_body_bytes: 6291456\n  rate_limit: 1000000/minute\nroutes:\n"
        + "".join(
            f"  - prefix: {prefix}\n    upstream: {upstream}\n    service: booking-svc\n"
            for prefix in ("/api/v1/immigration", "/api/v1/appointments", "/api/v1/offices")
        )
    )
    port = free_port()
    env = {
        "GATEWAY_ROUTES_FILE": str(routes),
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "8",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "gateway-metrics"),
    }
    try:
        with process(
            [str(gateway_bin), "web", "--bind", f"127.0.0.1:{port}"],
            env=env,
            ready_url=f"http://127.0.0.1:{port}/healthz",
            log_name="booking_gateway",
        ):
            base = f"http://127.0.0.1:{port}"
            search = run_load(
                lambda s, n: s.get(
                    f"{base}/api/v1/offices/{OFFICE}/slots?from={date_from}&to={date_to}&limit=100",
                    headers={"Authorization": f"Bearer {searchers[n % SEARCHERS]}"},
                    timeout=30,
                ),
                concurrency=CONCURRENCY,
                duration=DURATION,
            )
            tokens = [issuer.citizen(citizen) for citizen, _ in bookers]
            booking = run_load(
                lambda s, n: s.post(
                    f"{base}/api/v1/appointments",
                    json={"application_id": bookers[n][1], "slot_id": slots[n]},
                    headers={"Authorization": f"Bearer {tokens[n]}"},
                    timeout=30,
                ),
                concurrency=CONCURRENCY,
                duration=DURATION,
                max_requests=min(len(bookers), len(slots)),
                warmup=0.0,
                ok=lambda r: r.status_code == 201,
            )
            return search, booking
    except RuntimeError as exc:  # the gateway did not come up: report the direct figures only
        sys.stderr.write(f"gateway figures skipped: {exc}\n")
        return None


def main() -> int:
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    database_url = create_database(admin_url, "bench_booking")
    database = Database(database_url, pool_size=2, max_overflow=2)
    issuer = TokenIssuer()
    try:
        upgrade(database_url, MIGRATIONS)
        today = datetime.now(UTC).date()
        slot_count = generate_between(
            database, load_catalog(), today + timedelta(days=1), today + timedelta(days=60), [OFFICE]
        )
        bookers = seed_applications(database, BOOKERS)
        gateway_bookers = seed_applications(database, BOOKERS)
        contenders = seed_applications(database, RACE_CONTENDERS)
        with database.session() as session:
            free = list(session.scalars(select(Slot.id).where(Slot.office == OFFICE).order_by(Slot.starts_at)))
        race_slot, booking_slots = free[0], free[1 : 1 + BOOKERS]
        gateway_slots = free[1 + BOOKERS : 1 + 2 * BOOKERS]

        with gunicorn("bench.hello_app:app", log_name="booking_hello") as hello_url:
            hello = run_load(
                lambda s, n: s.get(hello_url + "/hello", timeout=30), concurrency=CONCURRENCY, duration=DURATION
            )

        searchers = [issuer.citizen(str(uuid.uuid4())) for _ in range(SEARCHERS)]
        date_from, date_to = (today + timedelta(days=1)).isoformat(), (today + timedelta(days=14)).isoformat()
        with serve_jwks(issuer.jwks) as jwks_url, tempfile.TemporaryDirectory() as documents:
            port = free_port()
            env = {
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka,
                "JWT_JWKS_URL": jwks_url,
                "APPOINTMENT_LINK_KEY": "bench-link-key-" + uuid.uuid4().hex,
                "DOCUMENTS_DIR": documents,
                "LOG_LEVEL": "WARNING",
                "WEB_CONCURRENCY": "2",
                "WEB_THREADS": "8",
                "SLOT_SEARCHES_PER_MINUTE": "1000000",
                "BOOKINGS_PER_HOUR": "1000000",
                "PROMETHEUS_MULTIPROC_DIR": str(Path(documents) / "metrics"),
            }
            with process(
                [str(BIN / "booking-svc"), "web", "--bind", f"127.0.0.1:{port}"],
                env=env,
                ready_url=f"http://127.0.0.1:{port}/healthz",
                log_name="booking_web",
            ):
                base = f"http://127.0.0.1:{port}"
                search = run_load(
                    lambda s, n: s.get(
                        f"{base}/api/v1/offices/{OFFICE}/slots?from={date_from}&to={date_to}&limit=100",
                        headers={"Authorization": f"Bearer {searchers[n % SEARCHERS]}"},
                        timeout=30,
                    ),
                    concurrency=CONCURRENCY,
                    duration=DURATION,
                )
                booker_tokens = [issuer.citizen(citizen) for citizen, _ in bookers]
                booking = run_load(
                    lambda s, n: s.post(
                        f"{base}/api/v1/appointments",
                        json={"application_id": bookers[n][1], "slot_id": booking_slots[n]},
                        headers={"Authorization": f"Bearer {booker_tokens[n]}"},
                        timeout=30,
                    ),
                    concurrency=CONCURRENCY,
                    duration=DURATION,
                    max_requests=min(BOOKERS, len(booking_slots)),
                    warmup=0.0,
                    ok=lambda r: r.status_code == 201,
                )
                contest = race(base, race_slot, contenders, issuer)
                via_gateway = through_gateway(
                    base, Path(documents), searchers, issuer, gateway_bookers, gateway_slots, date_from, date_to
                )
        with database.engine.connect() as connection:
            double_booked = connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT slot_id FROM appointments WHERE status = 'booked' "
                    "GROUP BY slot_id HAVING count(*) > 1) AS d"
                )
            ).scalar_one()
    finally:
        database.dispose()
        drop_database(admin_url, database_url)

    rows = [
        Row("hello baseline (GET /hello)", "req/s", hello.throughput),
        Row("hello baseline p99", "ms", hello.percentile(99)),
        Row("slot search (14 days, 100 slots)", "req/s", search.throughput, hello.throughput),
        Row("slot search p99", "ms", search.percentile(99), hello.percentile(99)),
        Row("booking (distinct free slots, 201)", "req/s", booking.throughput, hello.throughput),
        Row("booking p99", "ms", booking.percentile(99), hello.percentile(99)),
    ]
    if via_gateway is not None:
        gateway_search, gateway_booking = via_gateway
        rows += [
            Row("slot search through the gateway", "req/s", gateway_search.throughput, hello.throughput),
            Row("slot search through the gateway p99", "ms", gateway_search.percentile(99), hello.percentile(99)),
            Row("booking through the gateway", "req/s", gateway_booking.throughput, hello.throughput),
            Row("booking through the gateway p99", "ms", gateway_booking.percentile(99), hello.percentile(99)),
        ]
    rows += [
        Row(f"race: {RACE_CONTENDERS} contenders, winners", "count", contest["winners"], 1),
        Row("race: refused with 409", "count", contest["refused_409"], RACE_CONTENDERS - 1),
        Row("race: p99 answer time", "ms", contest["p99_ms"]),
        Row("race: all answered within", "s", contest["wall_s"]),
        Row("slots booked twice (whole run)", "count", double_booked, 0),
    ]
    report(
        "booking_slots",
        "booking-svc: slot search, booking and the race for one slot",
        rows,
        extra={
            "slots_generated": slot_count,
            "search": search.summary(),
            "booking": booking.summary(),
            "booking_statuses": booking.statuses,
            "hello": hello.summary(),
            "race": contest,
            "concurrency": CONCURRENCY,
            "duration_s": DURATION,
        },
    )
    if via_gateway is not None:
        ok_gateway = via_gateway[1].errors == 0
    else:
        ok_gateway = True
    ok = ok_gateway and contest["winners"] == 1 and contest["other"] == 0 and double_booked == 0 and booking.errors == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
