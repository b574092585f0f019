"""A slot is never booked twice: many applicants race for the same counter slot on real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from booking import create_app, handlers
from booking.config import Settings
from booking.deps import BookingDeps, booking_deps
from booking.domain import DocumentDecision, Officer
from booking.tables import Slot
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from mai_chassis.testing.samples import sample_pdf
from sqlalchemy import text
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "booking-svc" / "src" / "booking" / "migrations"
CONTENDERS = 50


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app on a loopback port, a thread per request; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class _NullStore:
    """Keeps nothing: seeded applications only need their documents' hashes."""

    def put(self, digest: str, content: bytes, media_type: str) -> None:
        return None

    def get(self, digest: str) -> bytes:
        raise KeyError(digest)


def accepted_application(database: Database, deps: BookingDeps, *, citizen_id: str, office: str) -> str:
    """An application whose documents an officer accepted, created through the handlers."""
    claims = {"email": "applicant@example.org", "name": "Test Applicant", "locale": "en"}

    def run(handler: Any, command: Any) -> Any:
        with database.unit_of_work(source="booking-svc") as uow:
            return handler(uow, deps, command)

    application_id = run(
        handlers.create_draft, handlers.CreateDraft(citizen_id, "travel-document", office, claims)
    ).application.id
    codes = deps.catalog.application_types["travel-document"].required_codes
    for code in codes:
        run(handlers.upload_document, handlers.UploadDocument(application_id, citizen_id, code, sample_pdf()))
    run(handlers.submit_application, handlers.SubmitApplication(application_id, citizen_id))
    decisions = tuple(DocumentDecision(code, True) for code in codes)
    officer = Officer("seeder", frozenset({office}))
    run(handlers.review_application, handlers.ReviewApplication(application_id, officer, decisions))
    return application_id


def test_fifty_concurrent_bookings_of_one_free_slot_give_one_201_and_49_409(
    database_factory: Callable[..., str], jwks_url: str, token_issuer: Any, tmp_path: Path
) -> None:
    url = database_factory("booking")
    upgrade(url, MIGRATIONS)
    database = Database(url, pool_size=4, max_overflow=4)
    citizens = [str(uuid.uuid4()) for _ in range(CONTENDERS)]
    seeding = booking_deps(Settings(database_url=url, appointment_link_key="s" * 32), store=_NullStore())
    applications = [accepted_application(database, seeding, citizen_id=c, office="IGI-B") for c in citizens]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    with database.session() as session:
        slot = Slot(office="IGI-B", counter="1", starts_at=starts, ends_at=starts + timedelta(minutes=20))
        session.add(slot)
        session.commit()
        slot_id = slot.id
    settings = Settings(
        environment="test",
        log_json=False,
        database_url=url,
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        documents_dir=str(tmp_path / "documents"),
        appointment_link_key="race-link-key-" + uuid.uuid4().hex,
    )
    app = create_app(settings)
    tokens = [token_issuer.citizen(c) for c in citizens]
    barrier = threading.Barrier(CONTENDERS, timeout=30)

    def contend(base_url: str, index: int) -> int:
        session = requests.Session()
        session.get(base_url + "/healthz", timeout=10)  # connection open before the start signal
        barrier.wait()
        response = session.post(
            base_url + "/api/v1/appointments",
            json={"application_id": applications[index], "slot_id": slot_id},
            headers={"Authorization": f"Bearer {tokens[index]}"},
            timeout=60,
        )
        return response.status_code

    try:
        with served(app) as base_url, ThreadPoolExecutor(CONTENDERS) as pool:
            statuses = list(pool.map(lambda i: contend(base_url, i), range(CONTENDERS)))
    finally:
        app.extensions["mai_database"].dispose()

    assert sorted(statuses) == [201] + [409] * (CONTENDERS - 1)
    with database.engine.connect() as connection:
        booked = connection.execute(
            text("SELECT count(*) FROM appointments WHERE slot_id = :s AND status = 'booked'"), {"s": slot_id}
        ).scalar_one()
        events = connection.execute(
            text("SELECT count(*) FROM outbox_events WHERE event_type = 'ro.mai.appointment.booked.v1'")
        ).scalar_one()
        is_booked = connection.execute(text("SELECT is_booked FROM slots WHERE id = :s"), {"s": slot_id}).scalar_one()
    database.dispose()
    assert (booked, events, is_booked) == (1, 1, True)
