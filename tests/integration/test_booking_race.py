"""A slot is never booked twice: many applicants race for the same counter slot on real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from booking import create_app
from booking.config import Settings
from booking.tables import Slot
from booking.testing import accepted_application, serve_app
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from sqlalchemy import text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "booking-svc" / "src" / "booking" / "migrations"
CONTENDERS = 50


def test_fifty_concurrent_bookings_of_one_free_slot_give_one_201_and_49_409(
    database_factory: Callable[..., str], jwks_url: str, token_issuer: Any, tmp_path: Path
) -> None:
    url = database_factory("booking")
    upgrade(url, MIGRATIONS)
    database = Database(url, pool_size=4, max_overflow=4)
    citizens = [str(uuid.uuid4()) for _ in range(CONTENDERS)]
    applications = [accepted_application(database, citizen_id=c, office="IGI-B") for c in citizens]
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
        with serve_app(app) as base_url, ThreadPoolExecutor(CONTENDERS) as pool:
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
