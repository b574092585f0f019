"""Walking skeleton: a citizen submits a petition and, within seconds, is e-mailed its registration number.

petition-svc's app (Flask test client) and outbox relay, and notify-svc's worker loops, run in
this process against the real Kafka broker, PostgreSQL and SMTP sink, on this test's own topics.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mai_chassis import Database, OutboxRelay
from mai_chassis.migrations import upgrade
from mai_chassis.sealing import generate_key
from mai_chassis.worker import run_worker

pytestmark = pytest.mark.integration

petition = pytest.importorskip("petition")
notify = pytest.importorskip("notify")

from notify.config import Settings as NotifySettings  # noqa: E402
from notify.deps import build_deps  # noqa: E402
from notify.service import build_consumer, build_delivery_loops  # noqa: E402
from notify.template_registry import TemplateRegistry  # noqa: E402
from petition import create_app as create_petition_app  # noqa: E402
from petition.config import Settings as PetitionSettings  # noqa: E402

PETITION_MIGRATIONS = Path(petition.__file__).parent / "migrations"
NOTIFY_MIGRATIONS = Path(notify.__file__).parent / "migrations"


@pytest.fixture
def running_platform(
    database_factory: Callable[..., str],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    smtp_sink: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """petition-svc's web app, both outbox relays and notify-svc's consumer and delivery loops."""
    monkeypatch.setenv("EVENT_SEALING_KEYS", generate_key())
    petition_url, notify_url = database_factory("petition"), database_factory("notify")
    upgrade(petition_url, PETITION_MIGRATIONS)
    upgrade(notify_url, NOTIFY_MIGRATIONS)

    petition_app = create_petition_app(
        PetitionSettings(
            environment="test",
            log_json=False,
            database_url=petition_url,
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            kafka_topic_prefix=topic_prefix,
            attachments_dir=str(tmp_path / "attachments"),
        )
    )
    notify_settings = NotifySettings(
        environment="test",
        log_json=False,
        database_url=notify_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        public_base_url="https://e-services.mai.gov.ro",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        mail_from="MAI e-services <no-reply@e-services.mai.gov.ro>",
        delivery_concurrency=1,
        delivery_idle_seconds=0.1,
    )
    petition_db, notify_db = Database(petition_url, pool_size=2), Database(notify_url, pool_size=4)
    notify_deps = build_deps(
        notify_settings, registry=TemplateRegistry(public_base_url=notify_settings.public_base_url)
    )
    loops = [
        OutboxRelay(
            petition_db, service="petition-svc", bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix
        ),
        build_consumer(notify_deps, notify_db, group_id=f"notify-svc-{uuid.uuid4().hex[:8]}"),
        *build_delivery_loops(notify_deps, notify_db),
        OutboxRelay(
            notify_db, service="notify-svc", bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix
        ),
    ]
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker, args=(loops,), kwargs={"stop": stop, "install_signal_handlers": False}, daemon=True
    )
    worker.start()
    try:
        yield petition_app
    finally:
        stop.set()
        worker.join(timeout=40)
        petition_app.extensions["mai_database"].dispose()
        petition_db.dispose()
        notify_db.dispose()


def test_a_submitted_petition_is_mailed_its_registration_number(running_platform: Any, smtp_sink: Any) -> None:
    client = running_platform.test_client()
    submitted = time.monotonic()
    response = client.post(
        "/api/v1/petitions",
        json={
            "kind": "petition",
            "institution": "IGPR",
            "field": "road-traffic",
            "subject": "Semafor defect",
            "text": "Semaforul de la intersecția străzilor Mihai Vodă și Sfinții Apostoli nu funcționează.",
            "name": "Ana Popescu",
            "email": "ana.popescu@example.ro",
        },
    )
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["registration_number"]

    mail = smtp_sink.wait_for(lambda message: number in str(message["Subject"]), timeout=30)
    elapsed = time.monotonic() - submitted
    assert mail["X-Envelope-To"] == "ana.popescu@example.ro"
    assert number in mail.get_body(("plain",)).get_content()
    assert mail["Message-ID"].endswith("@notify.e-services.mai.gov.ro>")
    assert elapsed < 30
