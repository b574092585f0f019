"""Submit → mail latency: petitions submitted through the gateway at a steady rate, timed until
each one's registration-number e-mail lands in the SMTP server.

The platform runs as real processes (gateway, petition-svc and notify-svc, web and worker each)
on the local broker and database. A petition's latency is the time from the gateway's 201 to the
moment its mail file appears in the SMTP sink's Maildir (the file's modification time).
Target: p99 ≤ 1 s at 50 petitions/s. Bounded: ``--rate`` times ``--seconds`` petitions.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import re
import threading
import time
import uuid
import warnings
from pathlib import Path

warnings.simplefilter("ignore", DeprecationWarning)

import requests  # noqa: E402
from mai_chassis.testing import create_database, delete_topics, drop_database, ensure_topics  # noqa: E402
from mai_devtools import SmtpSink  # noqa: E402
from mai_devtools.local_platform import Platform  # noqa: E402

from bench.harness import LoadResult, Row, report  # noqa: E402

NUMBER = re.compile(rb"[A-Z]{2,10}-\d{4}-\d{6}")


def petition() -> dict[str, str]:
    return {
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Semnalizare rutieră",
        "text": "Indicatorul de la trecerea de pietoni din fața școlii lipsește de o lună.",
        "name": "Elena Marin",
        "email": f"elena.{uuid.uuid4().hex[:10]}@example.ro",
        "language": "ro",
    }


def submit_paced(url: str, rate: float, seconds: float) -> tuple[dict[str, float], int]:
    """Open loop: petition i is sent at start + i/rate (threads keep the pace when one is slow)."""
    answered: dict[str, float] = {}
    failures = 0
    lock = threading.Lock()
    local = threading.local()
    total = int(rate * seconds)
    start = time.monotonic() + 0.5

    def send(i: int) -> None:
        nonlocal failures
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        try:
            response = session.post(f"{url}/api/v1/petitions", json=petition(), timeout=15)
            ok = response.status_code == 201
        except requests.RequestException:
            ok = False
        with lock:
            if ok:
                answered[response.json()["registration_number"]] = time.time()
            else:
                failures += 1

    workers = 16
    threads = [
        threading.Thread(target=lambda k=k: [send(i) for i in range(k, total, workers)], daemon=True)
        for k in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return answered, failures


def mail_arrivals(maildir: Path) -> dict[str, float]:
    arrivals: dict[str, float] = {}
    for path in (maildir / "new").iterdir():
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = b"".join(
            part.get_payload(decode=True) or b"" for part in message.walk() if part.get_content_type() == "text/plain"
        )
        found = NUMBER.search(body)
        if found:
            arrivals.setdefault(found.group().decode(), path.stat().st_mtime)
    return arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="petitions per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    servers, admin = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    prefix = f"s2m{uuid.uuid4().hex[:6]}."
    ensure_topics(servers, prefix=prefix)
    databases = {s: create_database(admin, f"bench_{s}") for s in ("petition", "notify")}
    sink = SmtpSink()
    sink.start()
    platform = Platform(
        kafka_bootstrap_servers=servers,
        database_urls=databases,
        smtp_port=sink.port,
        services=["petition", "notify"],
        topic_prefix=prefix,
        extra_env={"WEB_CONCURRENCY": "2", "DELIVERY_IDLE_SECONDS": "0.05"},
    )
    try:
        platform.start()
        answered, failures = submit_paced(platform.gateway_url, args.rate, args.seconds)
        deadline = time.monotonic() + 120
        while len(list((sink.maildir / "new").iterdir())) < len(answered) and time.monotonic() < deadline:
            time.sleep(0.5)
        arrivals = mail_arrivals(sink.maildir)
    finally:
        platform.stop()
        sink.close()
        for url in databases.values():
            drop_database(admin, url)
        delete_topics(servers, prefix)
    latencies = [max(0.0, arrivals[n] - t) for n, t in answered.items() if n in arrivals]
    missing = len(answered) - len(latencies)
    result = LoadResult(requests=len(latencies), errors=0, seconds=args.seconds, latencies=latencies)
    report(
        "submit_to_mail",
        f"Submit → mail latency at {args.rate:g} petitions/s for {args.seconds:g} s (through the gateway)",
        [
            Row("petitions accepted (201)", "count", len(answered), int(args.rate * args.seconds)),
            Row("submits refused or failed", "count", failures),
            Row("mails missing after 120 s", "count", missing),
            Row("submit → mail p50", "ms", result.percentile(50)),
            Row("submit → mail p95", "ms", result.percentile(95)),
            Row("submit → mail p99 (target 1000 ms)", "ms", result.percentile(99), 1000.0),
        ],
    )


if __name__ == "__main__":
    main()
