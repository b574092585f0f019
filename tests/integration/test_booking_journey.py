"""booking-svc against the real broker and PostgreSQL: an applicant's whole path, with its events."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
import requests
from booking import create_app
from booking.catalog import load_catalog
from booking.config import MAX_DOCUMENT_BYTES, Settings
from booking.domain import OFFICE_TIME_ZONE
from booking.service import worker_loops
from booking.slot_horizon import generate_between
from mai_chassis import Database, kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.migrations import upgrade
from mai_chassis.outbox import OutboxRelay
from mai_chassis.sealing import Sealer, generate_key
from mai_chassis.testing import read_events, wait_until
from mai_chassis.testing.samples import renamed_executable, sample_jpeg, sample_pdf, sample_png
from sqlalchemy import text
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration


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


OFFICE = "IGI-IS"
TRAVEL_DOCUMENTS = ("application-form", "travel-document-grounds", "photo", "fee-receipt")
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "booking-svc" / "src" / "booking" / "migrations"


class Booking:
    def __init__(self, base_url: str, settings: Settings, database: Database, sealer: Sealer, issuer: Any) -> None:
        self.base_url, self.settings, self.database, self.sealer, self.issuer = (
            base_url,
            settings,
            database,
            sealer,
            issuer,
        )
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def officer(self) -> str:
        return self.issuer.staff("immigration_officer", OFFICE)

    def upload(
        self,
        token: str,
        application_id: str,
        code: str,
        content: bytes,
        name: str = "scan.pdf",
        declared: str = "application/pdf",
    ) -> requests.Response:
        return self.call(
            "PUT",
            f"/api/v1/immigration/applications/{application_id}/documents/{code}",
            token,
            files={"file": (name, content, declared)},
        )

    def events(self, topic: str, subject: str, count: int) -> list[Any]:
        found = read_events(
            self.settings.kafka_bootstrap_servers,
            self.settings.kafka_topic_prefix + topic,
            until=lambda records: sum(1 for r in records if r.subject == subject) >= count,
            timeout=30,
        )
        return [event for event in found if event.subject == subject]

    def stored_files(self) -> list[Path]:
        root = Path(self.settings.documents_dir)
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def booking(
    database_factory: Callable[..., str],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    jwks_url: str,
    token_issuer: Any,
    tmp_path: Path,
) -> Iterator[Booking]:
    url = database_factory("booking")
    upgrade(url, MIGRATIONS)
    sealing_key = generate_key()
    settings = Settings(
        environment="test",
        log_json=False,
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        documents_dir=str(tmp_path / "documents"),
        appointment_link_key="integration-link-key-" + uuid.uuid4().hex,
        event_sealing_keys=(sealing_key,),
    )
    database = Database(url, pool_size=2, max_overflow=2)
    today = datetime.now(OFFICE_TIME_ZONE).date()  # the offices' day, not UTC's (they differ late at night)
    generate_between(database, load_catalog(), today + timedelta(days=1), today + timedelta(days=21), [OFFICE])
    loops = [
        OutboxRelay(
            database, service="booking-svc", bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix
        ),
        *worker_loops(settings, database),
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    app = create_app(settings)
    try:
        with served(app) as base_url:
            yield Booking(base_url, settings, database, Sealer([sealing_key]), token_issuer)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        app.extensions["mai_database"].dispose()
        database.dispose()


def announce_verified_identity(booking: Booking, citizen_id: str) -> None:
    """What identity-svc publishes when a citizen's identity is verified."""
    data = {
        "citizen_id": citizen_id,
        "method": "eid_provider",
        "provider": "bank-card",
        "assurance_level": "substantial",
        "verified_at": datetime.now(UTC).isoformat(),
        "recipient": {"email": "john.smith@example.com", "name": "John Smith", "language": "en"},
    }
    event = build_event("ro.mai.identity.verified.v1", source="identity-svc", subject=citizen_id, data=data)
    producer = kafka_clients.producer(booking.settings.kafka_bootstrap_servers)
    try:
        producer.send(
            booking.settings.kafka_topic_prefix + "identity.verified", encode_event(event), key=citizen_id.encode()
        ).get(timeout=10)
    finally:
        producer.close()


def submitted_application(booking: Booking, token: str) -> str:
    draft = booking.call(
        "POST",
        "/api/v1/immigration/applications",
        token,
        json={"application_type": "travel-document", "office": OFFICE},
    )
    assert draft.status_code == 201, draft.text
    application_id = draft.json()["application_id"]
    for code in TRAVEL_DOCUMENTS:
        assert booking.upload(token, application_id, code, sample_pdf()).status_code == 200
    assert booking.call("POST", f"/api/v1/immigration/applications/{application_id}/submit", token).status_code == 200
    return application_id


def test_the_whole_path_from_draft_to_pickup_publishes_its_events(booking: Booking) -> None:
    citizen_id = str(uuid.uuid4())
    token = booking.issuer.citizen(citizen_id)  # no e-mail in the token: it comes from identity.verified
    announce_verified_identity(booking, citizen_id)
    draft = wait_until(
        lambda: (
            (
                r := booking.call(
                    "POST",
                    "/api/v1/immigration/applications",
                    token,
                    json={"application_type": "travel-document", "office": OFFICE},
                )
            ).status_code
            == 201
            and r
        ),
        timeout=30,
        interval=0.3,
        what="the verified identity to be consumed",
    )
    application_id = draft.json()["application_id"]
    for code, content, name in zip(
        TRAVEL_DOCUMENTS,
        (sample_pdf(), sample_pdf(), sample_jpeg(), sample_png()),
        ("form.pdf", "grounds.pdf", "photo.jpg", "receipt.png"),
        strict=True,
    ):
        assert booking.upload(token, application_id, code, content, name).status_code == 200
    assert booking.call("POST", f"/api/v1/immigration/applications/{application_id}/submit", token).status_code == 200

    queue = booking.call("GET", f"/api/v1/immigration/review-queue?office={OFFICE}", booking.officer()).json()
    assert application_id in [a["application_id"] for a in queue["items"]]
    accepted = booking.call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        booking.officer(),
        json={"documents": [{"document_type": c, "decision": "accepted"} for c in TRAVEL_DOCUMENTS]},
    )
    assert accepted.json()["status"] == "documents_accepted"

    proposed = booking.call("GET", f"/api/v1/immigration/applications/{application_id}/proposed-slots", token).json()
    booked = booking.call(
        "POST",
        "/api/v1/appointments",
        token,
        json={"application_id": application_id, "slot_id": proposed["items"][0]["slot_id"]},
    )
    assert booked.status_code == 201, booked.text
    moved = booking.call(
        "POST",
        f"/api/v1/appointments/{booked.json()['appointment_id']}/reschedule",
        token,
        json={"slot_id": proposed["items"][1]["slot_id"]},
    )
    assert moved.status_code == 201, moved.text

    visit = booking.call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/visit",
        booking.officer(),
        json={"pickup_from": datetime.now(OFFICE_TIME_ZONE).date().isoformat()},
    )
    assert visit.json()["status"] == "ready_for_pickup", visit.text
    closed = booking.call("POST", f"/api/v1/immigration/applications/{application_id}/pickup", booking.officer())
    assert closed.json()["status"] == "closed"

    timeline = booking.call("GET", f"/api/v1/immigration/applications/{application_id}/timeline", token).json()
    assert [e["status"] for e in timeline["items"]] == [
        "draft",
        "submitted",
        "documents_accepted",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_booked",
        "biometrics_taken",
        "ready_for_pickup",
        "picked_up",
        "closed",
    ]

    submitted = booking.events("application.submitted", application_id, 1)
    reviewed = booking.events("application.reviewed", application_id, 1)
    bookings = booking.events("appointment.booked", application_id, 2)
    cancelled = booking.events("appointment.cancelled", application_id, 1)
    ready = booking.events("application.ready", application_id, 1)
    for event in (*submitted, *reviewed, *bookings, *cancelled, *ready):
        mai_contracts.validate(event.type, event.data)
        assert event.data["citizen_id"] == citizen_id
    assert submitted[0].data["document_count"] == 4
    assert reviewed[0].data["outcome"] == "accepted"
    assert reviewed[0].data["recipient"]["email"] == "john.smith@example.com"
    assert cancelled[0].data["reason"] == "rescheduled"
    assert bookings[1].data["rescheduled_from"] == bookings[0].data["appointment_id"]
    assert ready[0].data["pickup_from"] == datetime.now(OFFICE_TIME_ZONE).date().isoformat()

    # The confirmation e-mail's link: sealed on the stream, a portal page whose token the API reads;
    # a GET shows without acting.
    link = booking.sealer.open(bookings[1].data["sealed_manage_link"])
    page = booking.settings.public_base_url + "/appointments/manage/"
    assert link.startswith(page)
    shown = booking.call("GET", "/api/v1/appointments/manage/" + link.removeprefix(page))
    assert shown.status_code == 200
    assert shown.json()["appointment"]["appointment_id"] == bookings[1].data["appointment_id"]
    assert shown.json()["actions"]["cancel"] is None  # attended: nothing left to change


def test_a_rejected_document_is_replaced_resubmitted_and_accepted(booking: Booking) -> None:
    token = booking.issuer.citizen(str(uuid.uuid4()), email="ana@example.ro", name="Ana Pop")
    application_id = submitted_application(booking, token)
    rejected = booking.call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        booking.officer(),
        json={
            "documents": [
                {
                    "document_type": c,
                    "decision": "rejected" if c == "photo" else "accepted",
                    **({"feedback": "The photo is blurred; upload a sharper scan."} if c == "photo" else {}),
                }
                for c in TRAVEL_DOCUMENTS
            ]
        },
    )
    assert rejected.json()["status"] == "changes_requested"
    shown = booking.call("GET", f"/api/v1/immigration/applications/{application_id}", token).json()
    photo = next(d for d in shown["documents"] if d["document_type"] == "photo")
    assert photo["feedback"] == "The photo is blurred; upload a sharper scan."

    assert booking.upload(token, application_id, "photo", sample_jpeg(), "sharper.jpg").status_code == 200
    assert booking.call("POST", f"/api/v1/immigration/applications/{application_id}/submit", token).status_code == 200
    accepted = booking.call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        booking.officer(),
        json={"documents": [{"document_type": "photo", "decision": "accepted"}]},
    )
    assert accepted.json()["status"] == "documents_accepted"

    submissions = booking.events("application.submitted", application_id, 2)
    reviews = booking.events("application.reviewed", application_id, 2)
    assert [e.data["submission_number"] for e in submissions] == [1, 2]
    assert [e.data["outcome"] for e in reviews] == ["changes_requested", "accepted"]
    assert {
        "document_type": "photo",
        "decision": "rejected",
        "feedback": "The photo is blurred; upload a sharper scan.",
    } in reviews[0].data["documents"]


def _rows(booking: Booking, sql: str, **params: Any) -> int:
    with booking.database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


@pytest.mark.parametrize(
    ("content", "name", "declared", "status"),
    [
        (sample_pdf(padding=MAX_DOCUMENT_BYTES), "big.pdf", "application/pdf", 413),
        (renamed_executable(), "passport.pdf", "application/pdf", 415),
        (b"<html><script>alert(1)</script></html>", "photo.png", "image/png", 415),
    ],
    ids=["over-5-MB", "renamed-executable", "html-as-png"],
)
def test_a_refused_document_leaves_nothing_stored(
    booking: Booking, content: bytes, name: str, declared: str, status: int
) -> None:
    token = booking.issuer.citizen(str(uuid.uuid4()), email="ana@example.ro", name="Ana Pop")
    draft = booking.call(
        "POST",
        "/api/v1/immigration/applications",
        token,
        json={"application_type": "travel-document", "office": OFFICE},
    ).json()
    refused = booking.upload(token, draft["application_id"], "photo", content, name, declared)
    assert refused.status_code == status
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert booking.stored_files() == []
    assert (
        _rows(
            booking, "SELECT count(*) FROM application_documents WHERE application_id = :a", a=draft["application_id"]
        )
        == 0
    )
    assert _rows(booking, "SELECT count(*) FROM outbox_events") == 0


def test_a_file_name_with_path_parts_is_harmless(booking: Booking, tmp_path: Path) -> None:
    token = booking.issuer.citizen(str(uuid.uuid4()), email="ana@example.ro", name="Ana Pop")
    draft = booking.call(
        "POST",
        "/api/v1/immigration/applications",
        token,
        json={"application_type": "travel-document", "office": OFFICE},
    ).json()
    stored = booking.upload(token, draft["application_id"], "photo", sample_png(), "../../../etc/cron.d/x.png")
    assert stored.status_code == 200
    assert stored.json()["file_name"] == "x.png"
    assert [p.name for p in booking.stored_files()] == [stored.json()["sha256"]]
    assert not (tmp_path.parent / "etc").exists()
    downloaded = booking.call(
        "GET", f"/api/v1/immigration/applications/{draft['application_id']}/documents/photo/content", token
    )
    assert downloaded.content == sample_png()
    assert downloaded.headers["Content-Type"] == "image/png"


def test_acting_on_another_applicants_application_is_not_found(booking: Booking) -> None:
    owner = booking.issuer.citizen(str(uuid.uuid4()), email="ana@example.ro", name="Ana Pop")
    stranger = booking.issuer.citizen(str(uuid.uuid4()), email="ion@example.ro", name="Ion Ionescu")
    application_id = submitted_application(booking, owner)
    booking.call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        booking.officer(),
        json={"documents": [{"document_type": c, "decision": "accepted"} for c in TRAVEL_DOCUMENTS]},
    )
    slot_id = booking.call("GET", f"/api/v1/immigration/applications/{application_id}/proposed-slots", owner).json()[
        "items"
    ][0]["slot_id"]
    attempts = [
        booking.call("GET", f"/api/v1/immigration/applications/{application_id}", stranger),
        booking.call("GET", f"/api/v1/immigration/applications/{application_id}/timeline", stranger),
        booking.upload(stranger, application_id, "photo", sample_png()),
        booking.call(
            "POST", "/api/v1/appointments", stranger, json={"application_id": application_id, "slot_id": slot_id}
        ),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404, 404]
    assert _rows(booking, "SELECT count(*) FROM appointments") == 0
    booked = booking.call(
        "POST", "/api/v1/appointments", owner, json={"application_id": application_id, "slot_id": slot_id}
    )
    appointment_id = booked.json()["appointment_id"]
    assert booking.call("POST", f"/api/v1/appointments/{appointment_id}/cancel", stranger).status_code == 404
    assert booking.call("GET", f"/api/v1/appointments/{appointment_id}", owner).json()["status"] == "booked"


def test_offices_and_application_types_come_from_the_reference_data(booking: Booking) -> None:
    offices = booking.call("GET", "/api/v1/offices").json()["items"]
    assert {"IGI-B", "IGI-CJ", OFFICE} <= {o["code"] for o in offices}
    types = booking.call("GET", "/api/v1/immigration/application-types").json()["items"]
    assert {
        "residence-extension-work",
        "residence-extension-studies",
        "residence-extension-family",
        "long-term-residence",
        "travel-document",
    } == {t["code"] for t in types}
