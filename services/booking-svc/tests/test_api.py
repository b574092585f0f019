"""The HTTP API on SQLite: applicant, officer and link journeys, refusals, limits and the OpenAPI document."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from booking.config import MAX_DOCUMENT_BYTES
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing.hostile_files import pdf_with_javascript_open_action_in_an_object_stream
from mai_chassis.testing.samples import renamed_executable, sample_jpeg, sample_pdf, sample_png
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

TRAVEL_DOCUMENTS = ("application-form", "travel-document-grounds", "photo", "fee-receipt")


def multipart(content: bytes, name: str, declared_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a large one to an unclosed file)."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {declared_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Applicant:
    def __init__(self, client: Any, token_issuer: Any, subject: str | None = None) -> None:
        self.client = client
        self.subject = subject or str(uuid.uuid4())
        token = token_issuer.citizen(self.subject, email="ana.popescu@example.ro", name="Ana Popescu")
        self.headers = {"Authorization": f"Bearer {token}"}

    def draft(self, office: str = "IGI-CJ", application_type: str = "travel-document") -> Any:
        return self.client.post(
            "/api/v1/immigration/applications",
            json={"application_type": application_type, "office": office},
            headers=self.headers,
        )

    def upload(self, application_id: str, document_type: str, content: bytes, name: str = "scan.pdf") -> Any:
        body, content_type = multipart(content, name)
        return self.client.put(
            f"/api/v1/immigration/applications/{application_id}/documents/{document_type}",
            data=body,
            headers=self.headers,
            content_type=content_type,
        )

    def submitted_application(self) -> str:
        application_id = self.draft().get_json()["application_id"]
        for code in TRAVEL_DOCUMENTS:
            assert self.upload(application_id, code, sample_pdf()).status_code == 200
        assert (
            self.client.post(
                f"/api/v1/immigration/applications/{application_id}/submit", headers=self.headers
            ).status_code
            == 200
        )
        return application_id


def officer_headers(token_issuer: Any, office: str = "IGI-CJ") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_issuer.staff('immigration_officer', office)}"}


def accept_all(client: Any, token_issuer: Any, application_id: str) -> Any:
    return client.post(
        f"/api/v1/immigration/applications/{application_id}/review",
        json={"documents": [{"document_type": c, "decision": "accepted"} for c in TRAVEL_DOCUMENTS]},
        headers=officer_headers(token_issuer),
    )


def outbox_types(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    with Session(engine) as session:
        types = list(session.scalars(select(OutboxEvent.event_type).order_by(OutboxEvent.seq)))
    engine.dispose()
    return types


def test_an_applicant_goes_from_draft_to_pickup(
    client: Any, token_issuer: Any, seed_slots: Any, database_url: str, clock: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 21))
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()

    queue = client.get("/api/v1/immigration/review-queue?office=IGI-CJ", headers=officer_headers(token_issuer))
    assert [a["application_id"] for a in queue.get_json()["items"]] == [application_id]
    assert accept_all(client, token_issuer, application_id).get_json()["status"] == "documents_accepted"

    proposed = client.get(
        f"/api/v1/immigration/applications/{application_id}/proposed-slots", headers=applicant.headers
    )
    first = proposed.get_json()["items"][0]
    assert first["starts_at"] == "2025-03-17T08:30:00+02:00"
    booked = client.post(
        "/api/v1/appointments", json={"application_id": application_id, "earliest": True}, headers=applicant.headers
    )
    assert booked.status_code == 201
    assert booked.get_json()["starts_at"] == first["starts_at"]
    schedule = client.get("/api/v1/offices/IGI-CJ/appointments?date=2025-03-17", headers=officer_headers(token_issuer))
    assert [a["appointment_id"] for a in schedule.get_json()["items"]] == [booked.get_json()["appointment_id"]]
    elsewhere = client.get(
        "/api/v1/offices/IGI-CJ/appointments?date=2025-03-17", headers=officer_headers(token_issuer, "IGI-TM")
    )
    assert elsewhere.status_code == 404

    clock.set(datetime(2025, 3, 17, 7, 0, tzinfo=UTC))  # 09:00 in Bucharest, after the visit
    visit = client.post(
        f"/api/v1/immigration/applications/{application_id}/visit",
        json={"biometrics_taken_at": "2025-03-17T08:40:00+02:00", "pickup_from": "2025-03-31"},
        headers=officer_headers(token_issuer),
    )
    assert visit.get_json()["status"] == "ready_for_pickup"
    to_hand_over = client.get(
        "/api/v1/immigration/review-queue?status=ready_for_pickup", headers=officer_headers(token_issuer)
    )
    assert [a["application_id"] for a in to_hand_over.get_json()["items"]] == [application_id]
    assert to_hand_over.get_json()["items"][0]["pickup_from"] == "2025-03-31"
    unknown = client.get("/api/v1/immigration/review-queue?status=closed", headers=officer_headers(token_issuer))
    assert unknown.status_code == 422 and "status" in unknown.get_json()["errors"]
    early = client.post(
        f"/api/v1/immigration/applications/{application_id}/pickup", headers=officer_headers(token_issuer)
    )
    assert early.status_code == 409
    clock.set(datetime(2025, 3, 31, 10, tzinfo=UTC))
    closed = client.post(
        f"/api/v1/immigration/applications/{application_id}/pickup", headers=officer_headers(token_issuer)
    )
    assert closed.get_json()["status"] == "closed"

    timeline = client.get(f"/api/v1/immigration/applications/{application_id}/timeline", headers=applicant.headers)
    assert [e["status"] for e in timeline.get_json()["items"]] == [
        "draft",
        "submitted",
        "documents_accepted",
        "appointment_booked",
        "biometrics_taken",
        "ready_for_pickup",
        "picked_up",
        "closed",
    ]
    assert outbox_types(database_url) == [
        "ro.mai.application.submitted.v1",
        "ro.mai.application.reviewed.v1",
        "ro.mai.appointment.booked.v1",
        "ro.mai.application.ready.v1",
    ]


def test_an_office_administrator_or_another_offices_officer_cannot_review_or_see_its_applications(
    client: Any, token_issuer: Any
) -> None:
    application_id = Applicant(client, token_issuer).submitted_application()  # at IGI-CJ
    decisions = {"documents": [{"document_type": c, "decision": "accepted"} for c in TRAVEL_DOCUMENTS]}
    review = f"/api/v1/immigration/applications/{application_id}/review"
    for admin_unit in ("IGI-CJ", "*"):  # administrators hold no officer role, in their unit or any
        staff = {"Authorization": f"Bearer {token_issuer.staff('admin', admin_unit)}"}
        assert client.post(review, json=decisions, headers=staff).status_code == 403
        assert client.get("/api/v1/immigration/review-queue?office=IGI-CJ", headers=staff).status_code == 403
        assert client.get("/api/v1/offices/IGI-CJ/appointments?date=2025-03-17", headers=staff).status_code == 403
    elsewhere = officer_headers(token_issuer, "IGI-TM")
    assert client.post(review, json=decisions, headers=elsewhere).status_code == 404
    queue = client.get("/api/v1/immigration/review-queue?office=IGI-CJ", headers=elsewhere)
    assert queue.status_code == 200 and queue.get_json()["items"] == []
    assert client.get("/api/v1/offices/IGI-CJ/appointments?date=2025-03-17", headers=elsewhere).status_code == 404
    assert accept_all(client, token_issuer, application_id).get_json()["status"] == "documents_accepted"


def test_a_rejected_document_is_replaced_and_the_application_resubmitted(client: Any, token_issuer: Any) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()
    decisions = [{"document_type": c, "decision": "accepted"} for c in TRAVEL_DOCUMENTS[:-1]]
    decisions.append({"document_type": "fee-receipt", "decision": "rejected", "feedback": "The amount is not visible."})
    reviewed = client.post(
        f"/api/v1/immigration/applications/{application_id}/review",
        json={"documents": decisions},
        headers=officer_headers(token_issuer),
    )
    assert reviewed.get_json()["status"] == "changes_requested"
    assert applicant.upload(application_id, "photo", sample_png()).status_code == 409  # accepted: stays
    assert applicant.upload(application_id, "fee-receipt", sample_jpeg(), "receipt.jpg").status_code == 200
    resubmitted = client.post(f"/api/v1/immigration/applications/{application_id}/submit", headers=applicant.headers)
    assert resubmitted.get_json()["submission_number"] == 2
    again = client.post(
        f"/api/v1/immigration/applications/{application_id}/review",
        json={"documents": [{"document_type": "fee-receipt", "decision": "accepted"}]},
        headers=officer_headers(token_issuer),
    )
    assert again.get_json()["status"] == "documents_accepted"


def test_submitting_with_a_missing_document_is_refused(client: Any, token_issuer: Any) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.draft().get_json()["application_id"]
    applicant.upload(application_id, "photo", sample_png(), "photo.png")
    refused = client.post(f"/api/v1/immigration/applications/{application_id}/submit", headers=applicant.headers)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["type"].endswith("/documents-missing")


def test_a_document_over_5_mb_is_refused_with_413_and_nothing_is_stored(
    client: Any, token_issuer: Any, documents_dir: Path
) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.draft().get_json()["application_id"]
    refused = applicant.upload(application_id, "photo", sample_pdf(padding=MAX_DOCUMENT_BYTES))
    assert refused.status_code == 413
    assert not documents_dir.exists() or not any(p.is_file() for p in documents_dir.rglob("*"))
    shown = client.get(f"/api/v1/immigration/applications/{application_id}", headers=applicant.headers).get_json()
    assert {d["status"] for d in shown["documents"]} == {"missing"}


def test_a_renamed_executable_is_refused_with_415_and_nothing_is_stored(
    client: Any, token_issuer: Any, documents_dir: Path
) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.draft().get_json()["application_id"]
    body, content_type = multipart(renamed_executable(), "passport.pdf", "application/pdf")
    refused = client.put(
        f"/api/v1/immigration/applications/{application_id}/documents/photo",
        data=body,
        headers=applicant.headers,
        content_type=content_type,
    )
    assert refused.status_code == 415
    assert refused.get_json()["type"].endswith("/unsupported-document-type")
    assert not documents_dir.exists() or not any(p.is_file() for p in documents_dir.rglob("*"))


def test_a_file_name_with_path_parts_is_kept_only_as_a_harmless_label(
    client: Any, token_issuer: Any, documents_dir: Path, tmp_path: Path
) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.draft().get_json()["application_id"]
    stored = applicant.upload(application_id, "photo", sample_png(), "../../../../tmp/evil.png")
    assert stored.status_code == 200
    assert stored.get_json()["file_name"] == "evil.png"
    files = [p for p in tmp_path.rglob("*") if p.is_file() and "evil" in p.name]
    assert files == []
    assert [p.name for p in documents_dir.rglob("*") if p.is_file()] == [stored.get_json()["sha256"]]


def test_another_applicants_application_is_not_found(client: Any, token_issuer: Any) -> None:
    owner, stranger = Applicant(client, token_issuer), Applicant(client, token_issuer)
    application_id = owner.draft().get_json()["application_id"]
    for response in (
        client.get(f"/api/v1/immigration/applications/{application_id}", headers=stranger.headers),
        stranger.upload(application_id, "photo", sample_png()),
        client.post(f"/api/v1/immigration/applications/{application_id}/submit", headers=stranger.headers),
    ):
        assert response.status_code == 404
    other_office = client.get(
        f"/api/v1/immigration/applications/{application_id}", headers=officer_headers(token_issuer, "IGI-TM")
    )
    assert other_office.status_code == 404


def test_the_e_mailed_link_shows_on_get_and_cancels_only_on_post(
    client: Any, token_issuer: Any, seed_slots: Any, app: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()
    accept_all(client, token_issuer, application_id)
    booked = client.post(
        "/api/v1/appointments", json={"application_id": application_id, "earliest": True}, headers=applicant.headers
    )
    appointment_id = booked.get_json()["appointment_id"]
    from booking.domain import aware
    from booking.tables import Appointment

    with app.extensions["mai_database"].session() as session:
        appointment = session.get(Appointment, appointment_id)
        link = app.extensions["booking"].links.signer.sign(appointment_id, aware(appointment.starts_at))

    shown = client.get(f"/api/v1/appointments/manage/{link}")
    assert shown.get_json()["appointment"]["status"] == "booked"
    assert (
        client.get(f"/api/v1/appointments/{appointment_id}", headers=applicant.headers).get_json()["status"] == "booked"
    )
    cancelled = client.post(f"/api/v1/appointments/manage/{link}/cancel")
    assert cancelled.get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/appointments/manage/{link}/cancel").status_code == 409
    assert client.get("/api/v1/appointments/manage/forged.link").status_code == 404


def _booked_with_link(client: Any, token_issuer: Any, app: Any) -> tuple[Applicant, str, str]:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()
    accept_all(client, token_issuer, application_id)
    booked = client.post(
        "/api/v1/appointments", json={"application_id": application_id, "earliest": True}, headers=applicant.headers
    )
    appointment_id = booked.get_json()["appointment_id"]
    from booking.tables import Appointment

    links = app.extensions["booking"].links
    with app.extensions["mai_database"].session() as session:
        link = links.token_for(session.get(Appointment, appointment_id))
    return applicant, appointment_id, link


def test_the_e_mailed_link_opens_the_portal_page_not_the_json_api(app: Any) -> None:
    from booking.appointment_links import MANAGE_PAGE_PATH
    from booking.tables import Appointment

    appointment = Appointment(id=str(uuid.uuid4()), starts_at=datetime(2025, 3, 17, 6, 30, tzinfo=UTC))
    links = app.extensions["booking"].links
    url = links.manage_url(appointment)
    assert MANAGE_PAGE_PATH == "/appointments/manage/"
    assert url == f"{links.public_base_url}/appointments/manage/{links.token_for(appointment)}"
    assert "/api/" not in url
    assert links.signer.verify(url.rsplit("/", 1)[1], now=datetime(2025, 3, 14, tzinfo=UTC)) == appointment.id


def test_the_e_mailed_link_lists_free_slots_of_the_appointments_office_without_sign_in(
    client: Any, token_issuer: Any, seed_slots: Any, app: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 18), offices=("IGI-CJ", "IGI-TM"))
    _applicant, _appointment_id, link = _booked_with_link(client, token_issuer, app)

    slots = client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-17&to=2025-03-18&limit=500")
    assert slots.status_code == 200
    items = slots.get_json()["items"]
    assert items and {s["office"] for s in items} == {"IGI-CJ"}
    shown = client.get(f"/api/v1/appointments/manage/{link}").get_json()
    assert shown["application_type"] == "travel-document"
    booked_slot = shown["appointment"]["starts_at"], shown["appointment"]["counter"]
    assert booked_slot not in {(s["starts_at"], s["counter"]) for s in items}

    assert client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-18&to=2025-03-17").status_code == 422
    assert client.get("/api/v1/appointments/manage/forged.link/slots?from=2025-03-17&to=2025-03-18").status_code == 404
    client.post(f"/api/v1/appointments/manage/{link}/cancel")
    after_cancel = client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-17&to=2025-03-18")
    assert after_cancel.status_code == 409
    assert after_cancel.get_json()["type"].endswith("/appointment-not-active")


def test_slot_searches_through_the_link_count_against_the_applicants_allowance(
    client: Any, token_issuer: Any, seed_slots: Any, app: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    applicant, _appointment_id, link = _booked_with_link(client, token_issuer, app)
    object.__setattr__(app.extensions["booking"].settings, "slot_searches_per_minute", 2)
    own = client.get("/api/v1/offices/IGI-CJ/slots?from=2025-03-17&to=2025-03-17", headers=applicant.headers)
    by_link = client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-17&to=2025-03-17")
    over = client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-17&to=2025-03-17")
    assert [own.status_code, by_link.status_code, over.status_code] == [200, 200, 429]
    assert int(over.headers["Retry-After"]) >= 1


def test_the_linked_routes_take_the_links_token_in_a_header_instead_of_the_url(
    client: Any, token_issuer: Any, seed_slots: Any, app: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    _applicant, appointment_id, link = _booked_with_link(client, token_issuer, app)
    header = {"Appointment-Link-Token": link}

    shown = client.get("/api/v1/appointments/linked", headers=header)
    assert shown.status_code == 200 and shown.get_json()["appointment"]["appointment_id"] == appointment_id
    slots = client.get("/api/v1/appointments/linked/slots?from=2025-03-17&to=2025-03-17", headers=header)
    assert slots.status_code == 200 and slots.get_json()["items"]
    missing = client.get("/api/v1/appointments/linked")
    assert missing.status_code == 400 and missing.get_json()["type"].endswith("/link-token-missing")
    forged = client.post("/api/v1/appointments/linked/cancel", headers={"Appointment-Link-Token": "forged.link"})
    assert forged.status_code == 404
    cancelled = client.post("/api/v1/appointments/linked/cancel", headers=header)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_rescheduling_through_the_link_hands_back_the_new_appointments_link(
    client: Any, token_issuer: Any, seed_slots: Any, app: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    _applicant, appointment_id, link = _booked_with_link(client, token_issuer, app)
    free = client.get(f"/api/v1/appointments/manage/{link}/slots?from=2025-03-17&to=2025-03-17").get_json()["items"]
    target = free[3]

    moved = client.post(
        "/api/v1/appointments/linked/reschedule",
        json={"slot_id": target["slot_id"]},
        headers={"Appointment-Link-Token": link},
    )
    assert moved.status_code == 201
    body = moved.get_json()
    assert body["rescheduled_from"] == appointment_id and body["starts_at"] == target["starts_at"]
    assert client.get(f"/api/v1/appointments/manage/{link}").get_json()["appointment"]["status"] == "cancelled"
    assert client.get(f"/api/v1/appointments/manage/{link}").get_json()["actions"]["cancel"] is None
    new_link = body["link_token"]
    shown = client.get(f"/api/v1/appointments/manage/{new_link}").get_json()
    assert shown["appointment"]["appointment_id"] == body["appointment_id"]
    assert shown["appointment"]["status"] == "booked"
    assert client.post(f"/api/v1/appointments/manage/{new_link}/cancel").get_json()["status"] == "cancelled"


def test_rescheduling_frees_the_old_slot_and_takes_the_new_one(client: Any, token_issuer: Any, seed_slots: Any) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()
    accept_all(client, token_issuer, application_id)
    slots = client.get(
        "/api/v1/offices/IGI-CJ/slots?from=2025-03-17&to=2025-03-17", headers=applicant.headers
    ).get_json()["items"]
    booked = client.post(
        "/api/v1/appointments",
        json={"application_id": application_id, "slot_id": slots[0]["slot_id"]},
        headers=applicant.headers,
    )
    assert (
        client.post(
            "/api/v1/appointments",
            json={"application_id": application_id, "slot_id": slots[1]["slot_id"]},
            headers=applicant.headers,
        ).status_code
        == 409
    )
    moved = client.post(
        f"/api/v1/appointments/{booked.get_json()['appointment_id']}/reschedule",
        json={"slot_id": slots[5]["slot_id"]},
        headers=applicant.headers,
    )
    assert moved.status_code == 201
    assert moved.get_json()["rescheduled_from"] == booked.get_json()["appointment_id"]
    free = client.get(
        "/api/v1/offices/IGI-CJ/slots?from=2025-03-17&to=2025-03-17", headers=applicant.headers
    ).get_json()["items"]
    free_ids = {s["slot_id"] for s in free}
    assert slots[0]["slot_id"] in free_ids and slots[5]["slot_id"] not in free_ids


def test_booking_a_taken_slot_is_refused_with_409(client: Any, token_issuer: Any, seed_slots: Any) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    first, second = Applicant(client, token_issuer), Applicant(client, token_issuer)
    ids = [a.submitted_application() for a in (first, second)]
    for application_id in ids:
        accept_all(client, token_issuer, application_id)
    slot_id = client.get(
        "/api/v1/offices/IGI-CJ/slots?from=2025-03-17&to=2025-03-17", headers=first.headers
    ).get_json()["items"][0]["slot_id"]
    assert (
        client.post(
            "/api/v1/appointments", json={"application_id": ids[0], "slot_id": slot_id}, headers=first.headers
        ).status_code
        == 201
    )
    taken = client.post(
        "/api/v1/appointments", json={"application_id": ids[1], "slot_id": slot_id}, headers=second.headers
    )
    assert taken.status_code == 409
    assert taken.get_json()["type"].endswith("/slot-taken")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'booking_attempt_outcomes_total{outcome="slot_taken",service="booking-svc"}' in metrics


def test_slot_searches_beyond_the_per_citizen_limit_get_429(app: Any, client: Any, token_issuer: Any) -> None:
    settings = app.extensions["booking"].settings
    object.__setattr__(settings, "slot_searches_per_minute", 3)
    applicant = Applicant(client, token_issuer)
    statuses = [
        client.get("/api/v1/offices/IGI-B/slots?from=2025-03-17&to=2025-03-18", headers=applicant.headers).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/offices/IGI-B/slots?from=2025-03-17&to=2025-03-18", headers=applicant.headers)
    assert int(limited.headers["Retry-After"]) >= 1
    other = Applicant(client, token_issuer)
    assert (
        client.get("/api/v1/offices/IGI-B/slots?from=2025-03-17&to=2025-03-18", headers=other.headers).status_code
        == 200
    )


def test_unknown_fields_in_a_draft_are_refused(client: Any, token_issuer: Any) -> None:
    applicant = Applicant(client, token_issuer)
    refused = client.post(
        "/api/v1/immigration/applications",
        json={"application_type": "travel-document", "office": "IGI-B", "cnp": "1800101221144"},
        headers=applicant.headers,
    )
    assert refused.status_code == 422
    assert "cnp" in refused.get_json()["errors"]


def test_a_draft_without_a_known_e_mail_address_is_refused(client: Any, token_issuer: Any) -> None:
    token = token_issuer.citizen(str(uuid.uuid4()))
    refused = client.post(
        "/api/v1/immigration/applications",
        json={"application_type": "travel-document", "office": "IGI-B"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 409
    assert refused.get_json()["type"].endswith("/identity-not-verified")


def test_the_openapi_document_describes_every_api_route(app: Any, client: Any) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, (path, method)
    assert json.dumps(document).count("application/problem+json") >= 1


@pytest.mark.parametrize("path", ["/api/v1/offices", "/api/v1/immigration/application-types"])
def test_reference_data_is_public(client: Any, path: str) -> None:
    assert client.get(path).get_json()["items"]


def test_generating_slots_twice_creates_them_once(seed_slots: Any, database_url: str) -> None:
    first = seed_slots(date(2025, 3, 17), date(2025, 3, 23), ("IGI-B", "IGI-CJ"))
    assert first > 0
    assert seed_slots(date(2025, 3, 17), date(2025, 3, 23), ("IGI-B", "IGI-CJ")) == 0
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slots")).scalar_one() == first
    engine.dispose()


def test_a_retried_booking_with_the_same_idempotency_key_returns_the_first_appointment(
    client: Any, token_issuer: Any, seed_slots: Any
) -> None:
    seed_slots(date(2025, 3, 17), date(2025, 3, 17))
    applicant = Applicant(client, token_issuer)
    application_id = applicant.submitted_application()
    accept_all(client, token_issuer, application_id)
    headers = {**applicant.headers, "Idempotency-Key": "booking-7f3a"}
    first = client.post(
        "/api/v1/appointments", json={"application_id": application_id, "earliest": True}, headers=headers
    )
    retried = client.post(
        "/api/v1/appointments", json={"application_id": application_id, "earliest": True}, headers=headers
    )
    assert first.status_code == retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json()["appointment_id"] == first.get_json()["appointment_id"]


def test_a_pdf_carrying_a_script_is_refused_with_415(client: Any, token_issuer: Any, documents_dir: Path) -> None:
    applicant = Applicant(client, token_issuer)
    application_id = applicant.draft().get_json()["application_id"]
    scripted = pdf_with_javascript_open_action_in_an_object_stream()
    refused = applicant.upload(application_id, "application-form", scripted)
    assert refused.status_code == 415
    assert "scripts" in refused.get_json()["detail"]
    assert not documents_dir.exists() or not any(p.is_file() for p in documents_dir.rglob("*"))
