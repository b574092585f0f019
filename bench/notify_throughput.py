"""notify-svc throughput: events on the topic → mails in the SMTP sink, beside raw smtplib to the same sink.

notify-svc's worker loops (consumer, delivery loops, outbox relay) run in this process on a fresh
PostgreSQL database and fresh topics; the events are produced before the clock starts, so the figure
is the service's drain rate: consume + record, render (Jinja2, both bodies), send over SMTP, record
the outcome and publish notification.sent. The baseline sends the same number of ready-made mails with
plain smtplib over as many connections as notify-svc has delivery loops. Both write to the same
Maildir-backed sink (mai_devtools.smtp_sink, in its own process), whose cost is in both figures.

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (an admin URL); `make bench` provides both.
Bounded: BENCH_NOTIFY_EVENTS events (default 2000) per run, one run per BENCH_NOTIFY_LOOPS value
(default "1,4" delivery loops), each at most BENCH_NOTIFY_TIMEOUT seconds (120).
Run: `python -m bench.notify_throughput`.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

warnings.simplefilter("ignore", DeprecationWarning)

import mai_contracts  # noqa: E402
from mai_chassis import Database, OutboxRelay, kafka_clients  # noqa: E402
from mai_chassis.events import build_event, encode_event  # noqa: E402
from mai_chassis.migrations import upgrade  # noqa: E402
from mai_chassis.sealing import generate_key  # noqa: E402
from mai_chassis.testing import create_database, drop_database, ensure_topics  # noqa: E402
from mai_chassis.worker import run_worker  # noqa: E402
from notify.config import Settings  # noqa: E402
from notify.deps import build_deps  # noqa: E402
from notify.mailer import OutgoingMail, build_message  # noqa: E402
from notify.metrics import NOTIFICATION_SEND_SECONDS  # noqa: E402
from notify.service import build_consumer, build_delivery_loops  # noqa: E402
from notify.subscriptions import subscribed_event_types  # noqa: E402
from notify.template_registry import TemplateRegistry  # noqa: E402

from bench.harness import ROOT, Row, free_port, report  # noqa: E402

EVENT_TYPE = "ro.mai.petition.submitted.v1"
EVENTS = int(os.environ.get("BENCH_NOTIFY_EVENTS", "2000"))
TIMEOUT = float(os.environ.get("BENCH_NOTIFY_TIMEOUT", "120"))
#: Delivery loops (threads, each with its own SMTP connection) per run; the baseline uses as many connections.
CONCURRENCY_LEVELS = tuple(int(n) for n in os.environ.get("BENCH_NOTIFY_LOOPS", "1,4").split(","))
LATENCY_SAMPLES = 10
MIGRATIONS = ROOT / "services" / "notify-svc" / "src" / "notify" / "migrations"
MAIL_FROM = "MAI e-services <no-reply@e-services.mai.gov.ro>"


class ExternalSink:
    """The SMTP sink in its own process (as in a deployment), so that it does not share our GIL."""

    def __init__(self, maildir: Path) -> None:
        self.host, self.port, self.maildir = "127.0.0.1", free_port(), maildir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mai_devtools.smtp_sink", "--host", self.host, "--port", str(self.port),
             "--maildir", str(maildir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.1)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def mails_in(sink: ExternalSink) -> int:
    folder = Path(sink.maildir) / "new"
    return sum(1 for _ in folder.iterdir()) if folder.exists() else 0


def wait_for_mails(sink: ExternalSink, count: int, deadline: float) -> bool:
    while mails_in(sink) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def petition_event(number: int) -> tuple[bytes, bytes]:
    data = copy.deepcopy(mai_contracts.schema(EVENT_TYPE)["examples"][0])
    data.update(petition_id=str(uuid.uuid4()), registration_number=f"IGPR-2025-{number:06d}")
    # One petitioner each: receipts to one address beyond notify-svc's per-recipient limit are withheld.
    data["recipient"] = {**data["recipient"], "email": f"petent.{number}@example.ro"}
    event = build_event(EVENT_TYPE, source="petition-svc", subject=data["petition_id"], data=data)
    return data["petition_id"].encode(), encode_event(event)


def baseline_smtplib(sink: ExternalSink, count: int, connections: int) -> float:
    """Raw smtplib: ``count`` ready-made mails over ``connections`` kept-open connections; returns mails/s."""
    registry = TemplateRegistry(public_base_url="https://e-services.mai.gov.ro")
    data = mai_contracts.schema(EVENT_TYPE)["examples"][0]
    context = registry.context(data, event={"id": "x", "type": EVENT_TYPE, "time": None}, language="ro")
    rendered = registry.render_mail(EVENT_TYPE, registry.latest_version(EVENT_TYPE), "ro", context)
    mail = OutgoingMail(
        message_id=f"<{uuid.uuid4()}@bench>",
        to_address="ana.popescu@example.ro",
        to_name="Ana Popescu",
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        language="ro",
    )
    message = build_message(mail, mail_from=MAIL_FROM)
    shares = [count // connections + (1 if i < count % connections else 0) for i in range(connections)]

    def sender(share: int) -> None:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as connection:
            for _ in range(share):
                connection.send_message(message)

    before = mails_in(sink)
    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert mails_in(sink) - before == count
    return count / elapsed


def measure(bootstrap: str, admin_url: str, loops_count: int) -> tuple[list[Row], dict[str, Any]]:
    """One run on fresh topics, database and sinks with ``loops_count`` delivery loops."""
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    consumed = [mai_contracts.topic_for_event_type(t).name for t in subscribed_event_types()]
    ensure_topics(bootstrap, [*consumed, "notification.sent", "notification.failed"], prefix=prefix)
    url = create_database(admin_url, "bench_notify")
    upgrade(url, MIGRATIONS)
    database = Database(url, pool_size=loops_count + 2, max_overflow=4)
    mail_root = Path(tempfile.mkdtemp(prefix="bench-notify-mail-"))
    baseline_sink, sink = ExternalSink(mail_root / "baseline"), ExternalSink(mail_root / "notify")
    stop = threading.Event()
    worker: threading.Thread | None = None
    try:
        baseline = baseline_smtplib(baseline_sink, EVENTS, loops_count)

        producer = kafka_clients.producer(bootstrap, acks="all", linger_ms=5)
        for number in range(EVENTS):
            key, value = petition_event(number)
            producer.send(prefix + "petition.submitted", key=key, value=value)
        producer.flush(timeout=60)

        settings = Settings(
            environment="production",
            log_json=True,
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            kafka_topic_prefix=prefix,
            public_base_url="https://e-services.mai.gov.ro",
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_security="none",
            mail_from=MAIL_FROM,
            delivery_concurrency=loops_count,
            delivery_idle_seconds=0.05,
        )
        notify_deps = build_deps(settings, registry=TemplateRegistry(public_base_url=settings.public_base_url))
        loops = [
            build_consumer(notify_deps, database, group_id=f"notify-bench-{uuid.uuid4().hex[:6]}"),
            *build_delivery_loops(notify_deps, database),
            OutboxRelay(database, service="notify-svc", bootstrap_servers=bootstrap, topic_prefix=prefix),
        ]
        worker = threading.Thread(
            target=run_worker, args=(loops,), kwargs={"stop": stop, "install_signal_handlers": False}, daemon=True
        )
        send_metric = NOTIFICATION_SEND_SECONDS.labels("notify-svc")
        sum_before = send_metric._sum.get()
        count_before = sum(b.get() for b in send_metric._buckets)
        started = time.perf_counter()
        worker.start()
        # The clock includes joining the consumer group (a few seconds): a worker starting on a backlog.
        deadline = time.monotonic() + TIMEOUT
        wait_for_mails(sink, 1, deadline)
        first_mail = time.perf_counter() - started
        drained = wait_for_mails(sink, EVENTS, deadline)
        total = time.perf_counter() - started
        delivered = mails_in(sink)
        steady = (delivered - 1) / max(1e-9, total - first_mail)

        # One event at a time on an idle, running service: how soon a citizen gets the mail.
        latencies = []
        for number in range(LATENCY_SAMPLES):
            key, value = petition_event(EVENTS + number)
            before = mails_in(sink)
            sent = time.perf_counter()
            producer.send(prefix + "petition.submitted", key=key, value=value).get(timeout=10)
            if not wait_for_mails(sink, before + 1, time.monotonic() + 30):
                break
            latencies.append(time.perf_counter() - sent)
        producer.close()
        send_sum = send_metric._sum.get() - sum_before
        send_count = sum(b.get() for b in send_metric._buckets) - count_before
        loops_label = f"{loops_count} loop{'s' if loops_count > 1 else ''}"
        rows = [
            Row(f"notify-svc mails, {loops_label}", "mails/s", delivered / total, baseline),
            Row(f"  after the first mail, {loops_label}", "mails/s", steady, baseline),
            Row(f"event → mail, median (idle), {loops_label}", "ms", statistics.median(latencies) * 1000),
            Row(f"event → mail, max of 10 (idle), {loops_label}", "ms", max(latencies) * 1000),
            Row(f"SMTP hand-over, mean, {loops_label}", "ms", send_sum / send_count * 1000),
        ]
        extra = {"drained": drained, "seconds": round(total, 2), "first_mail_after_s": round(first_mail, 2)}
        return rows, extra
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=40)
        baseline_sink.close()
        sink.close()
        shutil.rmtree(mail_root, ignore_errors=True)
        database.dispose()
        drop_database(admin_url, url)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("EVENT_SEALING_KEYS", generate_key())
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    admin_url = os.environ["DATABASE_URL"]
    rows: list[Row] = []
    extra: dict[str, Any] = {"events": EVENTS}
    for loops_count in CONCURRENCY_LEVELS:
        measured, details = measure(bootstrap, admin_url, loops_count)
        rows.extend(measured)
        extra[f"{loops_count}_loops"] = details
    report(
        "notify_throughput",
        "notify-svc: events on the topic → mails in the SMTP sink (baseline: raw smtplib, same connections)",
        rows,
        extra=extra,
    )


if __name__ == "__main__":
    main()
