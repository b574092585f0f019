"""The citizen portal's main pages through the gateway, beside a raw Flask "hello", in one run.

Starts, on loopback, fresh PostgreSQL databases (migrated) for petition-svc and portal-svc,
``petition-svc web`` and ``portal-svc web`` (gunicorn, 2 workers x 8 threads, as deployed) and the
gateway in front of both (``gateway web``: 2 aiohttp event-loop workers; the portal calls the API through its
internal listener, as deployed; rate limits exercised, never reached). Each simulated citizen is
a browser: it keeps its session cookie, and before the load it has looked up one petition's
status (number + e-mail, a CSRF-protected form) so that the result page is there to be read again.
Then, at 50 concurrent citizens:

- the home page (``/``),
- the petition form (``/petitions/new``, the institutions directory included),
- the status result (``/petitions/status/result``, asked of petition-svc each time),
- the certificate verify page (``/certificates/verify``), when the portal serves it,

each for a bounded time, and the "hello" baseline at the same concurrency. Target: p99 <= 150 ms;
throughput is reported as a ratio of the baseline's.

Two models of "concurrent users", both reported:

- closed loop (stress): each citizen asks for the next page as soon as the last one arrived, so
  50 citizens keep 50 requests in flight all the time;
- with think time (``--think-min``/``--think-max``, 1-5 s uniform by default): each citizen reads
  the page for a random while before the next, as people do; the pause is not counted in the
  latency. This is how load-testing tools that model users define a user (Locust's documented
  example user waits ``between(1, 5)`` seconds after each task; JMeter's timers and Gatling's
  pauses serve the same purpose). ``--think-max 0`` skips this pass.

    KAFKA_BOOTSTRAP_SERVERS=... DATABASE_URL=postgresql://.../postgres \\
        python -m bench.portal_pages [--seconds 10] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import yaml
from mai_chassis.migrations import upgrade
from mai_chassis.testing import create_database, drop_database
from mai_webkit.sessions import SESSIONS_MIGRATIONS

from bench.client import Client, Response
from bench.harness import BIN, ROOT, LoadResult, Row, free_port, gunicorn, process, report, run_load

WORKERS = 2
THREADS = 8
TARGET_P99_MS = 150.0
PETITION_MIGRATIONS = ROOT / "services" / "petition-svc" / "src" / "petition" / "migrations"
#: The portal's own tables are the web sessions' (its definition names the webkit's migrations).
PORTAL_MIGRATIONS = SESSIONS_MIGRATIONS
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_COOKIE = re.compile(r"portal_session=([^;]+)")


class Citizen:
    """One simulated browser: its session cookie, kept across requests (the load client has no jar)."""

    def __init__(self) -> None:
        self.cookie = ""

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"portal_session={self.cookie}"} if self.cookie else {}

    def remember(self, response: Response) -> None:
        for value in response.headers.get_all("Set-Cookie") or []:
            match = _COOKIE.match(value)
            if match:
                self.cookie = match.group(1)


def _petition(n: int) -> dict[str, Any]:
    return {
        "kind": "petition",
        "institution": "IGPR",
        "field": "public-order",
        "subject": f"Zgomot {n}",
        "text": "Muzică tare în fiecare noapte după miezul nopții.",
        "name": "Ana Popescu",
        "email": f"ana.{n}@example.ro",
    }


def _look_up(session: Client, site: str, citizen: Citizen, number: str, email: str) -> None:
    """What a citizen does once: open the status form and send number + e-mail (then the result is theirs)."""
    form = session.get(f"{site}/petitions/status?registration_number={number}", headers=citizen.headers())
    citizen.remember(form)
    token = _CSRF.search(form.text)
    if token is None:
        raise SystemExit(f"no CSRF token on the status form: {form.status_code}")
    body = f"csrf_token={token.group(1)}&registration_number={number}&email={email.replace('@', '%40')}"
    answer = session.post(
        f"{site}/petitions/status",
        data=body,
        headers={**citizen.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    citizen.remember(answer)
    if answer.status_code != 303:
        raise SystemExit(f"the status lookup was refused: {answer.status_code} {answer.text[:300]}")


def _page_load(
    site: str, path: str, *, seconds: float, concurrency: int, registered: list[tuple[str, str]], marker: str
) -> LoadResult:
    """``concurrency`` citizens reading ``path`` back to back, each with their own session."""
    local = threading.local()
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def read(session: Client, _n: int) -> Response:
        citizen: Citizen | None = getattr(local, "citizen", None)
        if citizen is None:
            citizen = local.citizen = Citizen()
            with lock:
                index = next(counter)
            number, email = registered[index % len(registered)]
            _look_up(session, site, citizen, number, email)
        response = session.get(f"{site}{path}", headers=citizen.headers(), timeout=10)
        citizen.remember(response)
        return response

    return run_load(
        read,
        concurrency=concurrency,
        duration=seconds,
        warmup=2.0,
        ok=lambda response: response.status_code == 200 and marker in response.text,
    )


def _page_load_with_think_time(
    site: str,
    path: str,
    *,
    seconds: float,
    concurrency: int,
    registered: list[tuple[str, str]],
    marker: str,
    think: tuple[float, float],
) -> LoadResult:
    """``concurrency`` citizens reading ``path``, each pausing ``think`` (uniform, seconds) between pages.

    Only the page's own time is measured; the citizens start spread over one think time, as
    people who arrived at different moments.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()
    measuring = threading.Event()
    stop = threading.Event()

    def citizen_loop(index: int) -> None:
        nonlocal errors
        citizen = Citizen()
        rng = random.Random(20261207 + index)  # the same pauses in every run

        def pause() -> float:
            return rng.uniform(*think)

        with Client() as session:
            number, email = registered[index % len(registered)]
            _look_up(session, site, citizen, number, email)
            stop.wait(pause() * index / concurrency)
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    response = session.get(f"{site}{path}", headers=citizen.headers(), timeout=10)
                    citizen.remember(response)
                    good, status = response.status_code == 200 and marker in response.text, response.status_code
                except requests.RequestException:
                    good, status = False, 0
                elapsed = time.perf_counter() - started
                if measuring.is_set():
                    with lock:
                        latencies.append(elapsed)
                        statuses[status] = statuses.get(status, 0) + 1
                        errors += 0 if good else 1
                stop.wait(pause())

    threads = [threading.Thread(target=citizen_loop, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(think[1] + 1.0)  # every citizen has looked up its petition and is reading
    measuring.set()
    started = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    with lock:
        return LoadResult(
            requests=len(latencies), errors=errors, seconds=elapsed, latencies=list(latencies), statuses=statuses
        )


def rows_for(name: str, measured: LoadResult, baseline: LoadResult) -> list[Row]:
    return [
        Row(f"{name}: throughput", "req/s", measured.throughput, baseline.throughput),
        Row(f"{name}: p50 latency", "ms", measured.percentile(50), baseline.percentile(50)),
        Row(f"{name}: p99 latency", "ms", measured.percentile(99), baseline.percentile(99)),
        Row(f"{name}: errors", "count", measured.errors, baseline.errors),
    ]


def _routes(petition: str, portal: str) -> dict[str, Any]:
    api = [
        {"prefix": prefix, "upstream": petition, "service": "petition-svc", "rate_limit": "1000000/minute"}
        for prefix in ("/api/v1/petitions", "/api/v1/institutions", "/api/v1/faq", "/api/v1/recommendations")
    ]
    page = {"prefix": "/", "upstream": portal, "service": "portal-svc", "rate_limit": "1000000/minute"}
    return {"routes": [*api, page]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per page")
    parser.add_argument("--concurrency", type=int, default=50, help="citizens reading back to back")
    parser.add_argument("--think-min", type=float, default=1.0, help="shortest pause between pages (s)")
    parser.add_argument("--think-max", type=float, default=5.0, help="longest pause between pages (s); 0: no pass")
    parser.add_argument("--think-seconds", type=float, default=30.0, help="measured seconds per page, think-time pass")
    options = parser.parse_args()

    admin_url = os.environ["DATABASE_URL"]
    petition_db = create_database(admin_url, "bench_petition")
    portal_db = create_database(admin_url, "bench_portal")
    try:
        upgrade(petition_db, PETITION_MIGRATIONS)
        upgrade(portal_db, PORTAL_MIGRATIONS)
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as scratch:
            rows, extra = _measure(Path(scratch), petition_db, portal_db, options)
        report(
            "portal_pages",
            f"Portal pages through the gateway vs raw Flask hello (gunicorn {WORKERS}x{THREADS} gthread each, "
            f"gateway {WORKERS} aiohttp workers, "
            f"{options.concurrency} citizens, {options.seconds:g} s per page closed loop"
            + (
                f", then {options.think_seconds:g} s per page with {options.think_min:g}-{options.think_max:g} s "
                "think time)"
                if options.think_max > 0
                else ")"
            ),
            rows,
            extra=extra,
        )
    finally:
        drop_database(admin_url, petition_db)
        drop_database(admin_url, portal_db)


def _measure(
    scratch: Path, petition_db: str, portal_db: str, options: argparse.Namespace
) -> tuple[list[Row], dict[str, Any]]:
    common = {
        "WEB_CONCURRENCY": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXY_HOPS": "1",
    }
    petition_port, portal_port, gateway_port, internal_port = free_port(), free_port(), free_port(), free_port()
    petition, portal, site, internal = (
        f"http://127.0.0.1:{p}" for p in (petition_port, portal_port, gateway_port, internal_port)
    )
    petition_env = {
        **common,
        "DATABASE_URL": petition_db,
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9"),  # no worker here
        "ATTACHMENTS_DIR": str(scratch / "attachments"),
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "petition-metrics"),
    }
    portal_env = {
        **common,
        "DATABASE_URL": portal_db,
        "API_BASE_URL": internal,
        "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "SESSION_COOKIE_SECURE": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "portal-metrics"),
    }
    routes = scratch / "routes.yaml"
    routes.write_text(yaml.safe_dump(_routes(petition, portal)))
    gateway_env = {
        **common,
        "TRUSTED_PROXY_HOPS": "0",
        "GATEWAY_ROUTES_FILE": str(routes),
        "GATEWAY_TRUSTED_PROXY_NETWORKS": "127.0.0.1/32",
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / "gateway-metrics"),
    }
    with (
        gunicorn("bench.hello_app:app", workers=WORKERS, threads=THREADS, log_name="portal_hello") as hello,
        process(
            [str(BIN / "petition-svc"), "web", "--bind", f"127.0.0.1:{petition_port}"],
            env=petition_env,
            ready_url=f"{petition}/healthz",
            log_name="portal_petition_web",
        ),
        process(
            [
                str(BIN / "gateway"),
                "web",
                *("--bind", f"127.0.0.1:{gateway_port}"),
                *("--internal-bind", f"127.0.0.1:{internal_port}"),
            ],
            env=gateway_env,
            ready_url=f"{site}/healthz",
            log_name="portal_gateway",
        ),
        process(
            [str(BIN / "portal-svc"), "web", "--bind", f"127.0.0.1:{portal_port}"],
            env=portal_env,
            ready_url=f"{portal}/healthz",
            log_name="portal_web",
        ),
    ):
        registered = []
        for n in range(options.concurrency):
            answer = requests.post(f"{site}/api/v1/petitions", json=_petition(n), timeout=10)
            if answer.status_code != 201:
                raise SystemExit(f"petition-svc does not register petitions: {answer.status_code} {answer.text}")
            registered.append((answer.json()["registration_number"], _petition(n)["email"]))
        pages = [
            ("home page", "/", 'id="status-line"'),
            ("petition form", "/petitions/new", 'name="institution"'),
            ("status result", "/petitions/status/result", 'id="petition-status"'),
        ]
        if requests.get(f"{site}/certificates/verify", timeout=10).status_code == 200:
            pages.append(("certificate verify page", "/certificates/verify", "<form"))
        baseline = run_load(
            lambda session, _n: session.get(f"{hello}/hello", timeout=10),
            concurrency=options.concurrency,
            duration=options.seconds,
            ok=lambda response: response.status_code == 200,
        )
        rows: list[Row] = []
        summaries: dict[str, Any] = {"baseline": baseline.summary()}
        for name, path, marker in pages:
            measured = _page_load(
                site,
                path,
                seconds=options.seconds,
                concurrency=options.concurrency,
                registered=registered,
                marker=marker,
            )
            rows += rows_for(name, measured, baseline)
            summaries[name] = {**measured.summary(), "target_p99_met": measured.percentile(99) <= TARGET_P99_MS}
        if options.think_max > 0:
            think = (options.think_min, options.think_max)
            for name, path, marker in pages:
                measured = _page_load_with_think_time(
                    site,
                    path,
                    seconds=options.think_seconds,
                    concurrency=options.concurrency,
                    registered=registered,
                    marker=marker,
                    think=think,
                )
                label = f"{name}, think {think[0]:g}-{think[1]:g} s"
                rows += rows_for(label, measured, baseline)
                summaries[label] = {
                    **measured.summary(),
                    "target_p99_met": measured.percentile(99) <= TARGET_P99_MS,
                }
    return rows, {"target_p99_ms": TARGET_P99_MS, "pages": summaries}


if __name__ == "__main__":
    main()
