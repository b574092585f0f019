"""Immigration pages over a scripted API: applying, documents, feedback, appointments and the mailed link."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.testing import QuietHandler, serve_http

from .conftest import FakeApi, csrf_token_of, tokens

APPLICATION_ID = "3f0c2a7e-8d41-4b6a-9a55-0d2b9c7e1f10"
APPOINTMENT_ID = "9b1e7c52-3a0d-4e8f-b6c4-2f5a8d9e0c31"
LINK_TOKEN = "OWIxZTdjNTItM2EwZC00ZThmLWI2YzQtMmY1YThkOWUwYzMxfDE3OTk5OTk5OTk.c2lnbmF0dXJlLW9mLXRoZS1saW5rLXRva2Vu"
NEW_LINK_TOKEN = "bmV3LWFwcG9pbnRtZW50LWlkfDE3OTk5OTk5OTk.bmV3LXNpZ25hdHVyZS1vZi10aGUtbGluay10b2tlbg"
ZONE = ZoneInfo("Europe/Bucharest")

TYPES = {
    "items": [
        {
            "code": "travel-document",
            "name": {"ro": "Document de călătorie", "en": "Travel document"},
            "required_documents": [
                {"code": "application-form", "name": {"ro": "Cererea completată și semnată", "en": "Completed form"}},
                {"code": "photo", "name": {"ro": "Fotografie color recentă", "en": "Recent colour photograph"}},
            ],
        }
    ]
}
OFFICE = {
    "code": "IGI-CJ",
    "name": "Serviciul pentru Imigrări al județului Cluj",
    "county": "Cluj",
    "city": "Cluj-Napoca",
    "counters": ["1", "2"],
    "opening_hours": {"monday": ["08:30-12:30"], "tuesday": ["08:30-12:30", "13:00-16:00"]},
    "closed_days": [],
}


def _later(days: int, hour: int, minute: int = 0) -> str:
    moment = datetime.now(ZONE).replace(hour=hour, minute=minute, second=0, microsecond=0) + timedelta(days=days)
    return moment.isoformat()


def slot(slot_id: int, days: int, hour: int, minute: int = 0, counter: str = "1") -> dict[str, Any]:
    starts = datetime.fromisoformat(_later(days, hour, minute))
    return {
        "slot_id": slot_id,
        "office": "IGI-CJ",
        "counter": counter,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=20)).isoformat(),
    }


def appointment(appointment_id: str = APPOINTMENT_ID, status: str = "booked", days: int = 3) -> dict[str, Any]:
    booked = slot(1, days, 10)
    return {
        "appointment_id": appointment_id,
        "application_id": APPLICATION_ID,
        "office": "IGI-CJ",
        "counter": "2",
        "starts_at": booked["starts_at"],
        "ends_at": booked["ends_at"],
        "status": status,
        "rescheduled_from": None,
    }


def application(status: str = "draft", documents: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "application_id": APPLICATION_ID,
        "application_type": "travel-document",
        "office": "IGI-CJ",
        "status": status,
        "submission_number": 0,
        "created_at": "2026-12-01T09:00:00+00:00",
        "submitted_at": None,
        "pickup_from": None,
        "documents": documents
        if documents is not None
        else [
            {"document_type": "application-form", "status": "missing"},
            {"document_type": "photo", "status": "missing"},
        ],
        "appointment": None,
        "timeline": [{"status": "draft", "at": "2026-12-01T09:00:00+00:00", "note": None}],
        **extra,
    }


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """The conftest's scripted API, answering PUT too (document uploads)."""
    api = FakeApi()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            api.respond(self, "GET")

        def do_POST(self) -> None:
            api.respond(self, "POST")

        def do_PUT(self) -> None:
            api.respond(self, "PUT")

    with serve_http(Handler) as url:
        api.url = url
        api.answer("GET", "/api/v1/immigration/application-types", 200, TYPES)
        api.answer("GET", "/api/v1/offices", 200, {"items": [OFFICE]})
        api.answer("GET", "/api/v1/offices/IGI-CJ", 200, OFFICE)
        yield api


def multipart(csrf_token: str, field: str, file_name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a large one to an unclosed file)."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return body + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    signed = client.post("/sign-in", data={"csrf_token": token, "email": "ana@example.ro", "password": "a-password-1"})
    assert signed.status_code == 303


def in_english(client: FlaskClient) -> None:
    client.get("/language/en")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- what can be applied for -------------------------------------------------------------------------


def test_the_immigration_page_lists_each_application_type_with_the_documents_it_needs(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    page = client.get("/immigration")

    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Document de călătorie" in text
    assert "Cererea completată și semnată" in text and "Fotografie color recentă" in text
    assert "/sign-in?next=/immigration" in page.get_data(as_text=True)


def test_starting_an_application_sends_the_choice_once_and_opens_the_application(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in(client, fake_api)
    in_english(client)
    fake_api.answer("POST", "/api/v1/immigration/applications", 201, application())
    form = client.get("/applications/new").get_data(as_text=True)
    assert "Travel document" in form and "Cluj" in form

    created = client.post(
        "/applications/new",
        data={
            "csrf_token": csrf_token_of(form),
            "application_type": "travel-document",
            "office": "IGI-CJ",
            "request_key": re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', form).group(1),
        },
    )

    assert created.status_code == 303
    assert created.headers["Location"] == f"/applications/{APPLICATION_ID}"
    [sent] = fake_api.sent("POST", "/api/v1/immigration/applications")
    assert sent.json() == {"application_type": "travel-document", "office": "IGI-CJ", "language": "en"}
    assert sent.headers["Authorization"] == "Bearer access-token-1"
    assert re.fullmatch(r"[0-9a-f]{32}", sent.headers["Idempotency-Key"])


def test_an_application_without_a_choice_is_explained_beside_each_field(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    in_english(client)
    form = client.get("/applications/new").get_data(as_text=True)

    refused = client.post("/applications/new", data={"csrf_token": csrf_token_of(form), "office": ""})

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'<a href="#application_type(-0)?">Choose what you apply for</a>', html)  # the first radio
    assert '<a href="#office">Choose the office where you will go</a>' in html
    assert fake_api.sent("POST", "/api/v1/immigration/applications") == []


def test_an_unverified_citizen_is_sent_to_verify_the_identity_first(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    in_english(client)
    fake_api.answer(
        "POST",
        "/api/v1/immigration/applications",
        409,
        {"type": "https://errors.e-services.mai.gov.ro/identity-not-verified", "status": 409, "title": "Conflict"},
    )
    form = client.get("/applications/new").get_data(as_text=True)

    refused = client.post(
        "/applications/new",
        data={"csrf_token": csrf_token_of(form), "application_type": "travel-document", "office": "IGI-CJ"},
    )

    assert refused.status_code == 409
    assert "Verify your identity before you apply." in refused.get_data(as_text=True)


# --- documents ---------------------------------------------------------------------------------------


def test_a_rejected_document_shows_the_officers_feedback_beside_it_and_only_it_can_be_replaced(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in(client, fake_api)
    in_english(client)
    documents = [
        {"document_type": "application-form", "status": "accepted", "feedback": None, "file_name": "form.pdf"},
        {"document_type": "photo", "status": "rejected", "feedback": "The face is not visible.", "file_name": "p.png"},
    ]
    fake_api.answer(
        "GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, application("changes_requested", documents)
    )

    page = client.get(f"/applications/{APPLICATION_ID}")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    photo = html[html.index('id="document-photo"') :]
    assert "Why it was rejected:" in photo and "The face is not visible." in photo
    assert f'action="/applications/{APPLICATION_ID}/documents/photo"' in html
    assert f'action="/applications/{APPLICATION_ID}/documents/application-form"' not in html
    assert 'enctype="multipart/form-data"' in html


def test_an_upload_is_passed_on_to_the_api_as_multipart(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, application())
    path = f"/api/v1/immigration/applications/{APPLICATION_ID}/documents/photo"
    fake_api.answer("PUT", path, 200, {"document_type": "photo", "status": "uploaded"})
    page = client.get(f"/applications/{APPLICATION_ID}").get_data(as_text=True)
    scan = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    uploaded = client.post(
        f"/applications/{APPLICATION_ID}/documents/photo",
        data={"csrf_token": csrf_token_of(page), "photo-file": (io.BytesIO(scan), "photo.png")},
        content_type="multipart/form-data",
    )

    assert uploaded.status_code == 303
    assert uploaded.headers["Location"] == f"/applications/{APPLICATION_ID}#document-photo"
    [sent] = fake_api.sent("PUT", path)
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="photo.png"' in sent.body and scan in sent.body


def test_a_file_over_5_mb_is_refused_beside_its_field_without_reaching_the_api(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in(client, fake_api)
    in_english(client)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, application())
    page = client.get(f"/applications/{APPLICATION_ID}").get_data(as_text=True)

    body, content_type = multipart(csrf_token_of(page), "photo-file", "big.pdf", b"%PDF" + b"0" * (5 * 1024 * 1024))

    refused = client.post(f"/applications/{APPLICATION_ID}/documents/photo", data=body, content_type=content_type)

    assert refused.status_code == 413
    html = refused.get_data(as_text=True)
    assert '<a href="#photo-file">The file must be at most 5 MB.</a>' in html
    assert 'id="photo-file-error-1"' in html
    assert fake_api.sent("PUT", f"/api/v1/immigration/applications/{APPLICATION_ID}/documents/photo") == []


def test_content_the_api_does_not_accept_is_explained_beside_the_field(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, application())
    fake_api.answer(
        "PUT",
        f"/api/v1/immigration/applications/{APPLICATION_ID}/documents/photo",
        415,
        {"type": "https://errors.e-services.mai.gov.ro/unsupported-document-type", "status": 415, "detail": "no"},
    )
    page = client.get(f"/applications/{APPLICATION_ID}").get_data(as_text=True)

    refused = client.post(
        f"/applications/{APPLICATION_ID}/documents/photo",
        data={"csrf_token": csrf_token_of(page), "photo-file": (io.BytesIO(b"MZ not a scan"), "x.exe")},
        content_type="multipart/form-data",
    )

    assert refused.status_code == 415
    assert "Fișierul trebuie să fie o scanare PDF, JPEG sau PNG" in refused.get_data(as_text=True)


def test_the_application_page_shows_the_timeline_and_the_pickup_details(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    in_english(client)
    ready = application(
        "ready_for_pickup",
        [{"document_type": "photo", "status": "accepted"}],
        pickup_from="2026-12-21",
        timeline=[
            {"status": "draft", "at": "2026-12-01T09:00:00+00:00", "note": None},
            {"status": "submitted", "at": "2026-12-01T10:00:00+00:00", "note": None},
            {"status": "ready_for_pickup", "at": "2026-12-10T10:00:00+00:00", "note": "2026-12-21"},
        ],
    )
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, ready)

    text = text_of(client.get(f"/applications/{APPLICATION_ID}").get_data(as_text=True))

    assert "You can pick it up from 21 December 2026 at Serviciul pentru Imigrări al județului Cluj" in text
    assert text.index("Document ready to be picked up") < text.index("Application submitted")
    assert text.index("Application submitted") < text.index("Application started")


def test_someone_elses_application_is_not_found(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer(
        "GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 404, {"type": "x/not-found", "status": 404}
    )

    assert client.get(f"/applications/{APPLICATION_ID}").status_code == 404
    assert client.get("/applications/not-a-uuid").status_code == 404


def test_application_pages_need_a_signed_in_citizen(client: FlaskClient, fake_api: FakeApi) -> None:
    page = client.get(f"/applications/{APPLICATION_ID}")

    assert page.status_code == 303
    assert page.headers["Location"].startswith("/sign-in?next=")


# --- booking from the application ------------------------------------------------------------------


def test_accepted_documents_lead_to_free_times_grouped_by_day_and_booking_one(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    sign_in(client, fake_api)
    in_english(client)
    accepted = application("documents_accepted", [{"document_type": "photo", "status": "accepted"}])
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, accepted)
    fake_api.answer(
        "GET",
        "/api/v1/offices/IGI-CJ/slots",
        200,
        {"items": [slot(11, 1, 9), slot(12, 1, 9, counter="2"), slot(13, 1, 9, 20), slot(14, 2, 10)]},
    )
    fake_api.answer("POST", "/api/v1/appointments", 201, appointment())
    page = client.get(f"/applications/{APPLICATION_ID}/appointment")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('type="radio" name="slot_id"') == 3  # two counters free at 09:00 are one choice
    assert html.count("<legend") == 2

    booked = client.post(
        f"/applications/{APPLICATION_ID}/appointment", data={"csrf_token": csrf_token_of(html), "slot_id": "13"}
    )

    assert booked.status_code == 303
    [sent] = fake_api.sent("POST", "/api/v1/appointments")
    assert sent.json() == {"application_id": APPLICATION_ID, "slot_id": 13}
    assert "Idempotency-Key" in sent.headers


def test_a_time_taken_a_moment_ago_is_explained_and_other_times_offered(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    in_english(client)
    accepted = application("documents_accepted", [{"document_type": "photo", "status": "accepted"}])
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, accepted)
    fake_api.answer("GET", "/api/v1/offices/IGI-CJ/slots", 200, {"items": [slot(11, 1, 9), slot(14, 2, 10)]})
    fake_api.answer("POST", "/api/v1/appointments", 409, {"type": "https://errors.example/slot-taken", "status": 409})
    html = client.get(f"/applications/{APPLICATION_ID}/appointment").get_data(as_text=True)

    taken = client.post(
        f"/applications/{APPLICATION_ID}/appointment", data={"csrf_token": csrf_token_of(html), "slot_id": "11"}
    )

    assert taken.status_code == 409
    page = taken.get_data(as_text=True)
    assert "Someone has just booked this time. Choose another one." in page
    assert 'value="14"' in page


# --- the mailed link --------------------------------------------------------------------------------


def open_mailed_link(client: FlaskClient, fake_api: FakeApi, token: str = LINK_TOKEN) -> Any:
    fake_api.answer(
        "GET",
        "/api/v1/appointments/linked",
        200,
        {"appointment": appointment(), "application_type": "travel-document", "actions": {}},
    )
    fake_api.answer("GET", "/api/v1/appointments/linked/slots", 200, {"items": [slot(21, 4, 11), slot(22, 5, 12)]})
    return client.get(f"/appointments/manage/{token}")


def test_the_mailed_link_moves_its_token_out_of_the_address_and_shows_the_appointment(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    opened = open_mailed_link(client, fake_api)

    assert opened.status_code == 303
    assert opened.headers["Location"] == "/appointments/manage"
    page = client.get("/appointments/manage")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert LINK_TOKEN not in html
    assert 'action="/appointments/manage/cancel"' in html and 'action="/appointments/manage/reschedule"' in html
    assert "Serviciul pentru Imigrări al județului Cluj" in html
    for sent in fake_api.requests:
        assert LINK_TOKEN not in sent.path  # never in a URL, not even towards the API
    shown = fake_api.sent("GET", "/api/v1/appointments/linked")
    assert shown and all(s.headers["Appointment-Link-Token"] == LINK_TOKEN for s in shown)
    assert fake_api.sent("POST", "/api/v1/appointments/linked/cancel") == []  # opening it changes nothing


def test_rescheduling_through_the_link_goes_on_with_the_new_appointments_token(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    open_mailed_link(client, fake_api)
    html = client.get("/appointments/manage").get_data(as_text=True)
    fake_api.answer(
        "POST",
        "/api/v1/appointments/linked/reschedule",
        201,
        {**appointment("5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f", days=5), "link_token": NEW_LINK_TOKEN},
    )

    moved = client.post("/appointments/manage/reschedule", data={"csrf_token": csrf_token_of(html), "slot_id": "22"})

    assert moved.status_code == 303 and moved.headers["Location"] == "/appointments/manage"
    [sent] = fake_api.sent("POST", "/api/v1/appointments/linked/reschedule")
    assert sent.json() == {"slot_id": 22}
    assert sent.headers["Appointment-Link-Token"] == LINK_TOKEN
    client.get("/appointments/manage")
    assert fake_api.sent("GET", "/api/v1/appointments/linked")[-1].headers["Appointment-Link-Token"] == NEW_LINK_TOKEN


def test_cancelling_through_the_link_needs_the_pages_form(client: FlaskClient, fake_api: FakeApi) -> None:
    open_mailed_link(client, fake_api)
    html = client.get("/appointments/manage").get_data(as_text=True)
    fake_api.answer("POST", "/api/v1/appointments/linked/cancel", 200, appointment(status="cancelled"))

    forged = client.post("/appointments/manage/cancel", data={})
    assert forged.status_code == 400
    assert fake_api.sent("POST", "/api/v1/appointments/linked/cancel") == []

    cancelled = client.post("/appointments/manage/cancel", data={"csrf_token": csrf_token_of(html)})
    assert cancelled.status_code == 303
    [sent] = fake_api.sent("POST", "/api/v1/appointments/linked/cancel")
    assert sent.headers["Appointment-Link-Token"] == LINK_TOKEN


def test_an_expired_or_forged_link_says_so_on_a_page(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("GET", "/api/v1/appointments/linked", 404, {"type": "x/invalid-link", "status": 404})
    client.get("/appointments/manage/forged.token")

    page = client.get("/appointments/manage")

    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "Acest link nu funcționează" in page.get_data(as_text=True)


def test_the_link_token_is_never_written_to_the_log(
    app: Flask, client: FlaskClient, fake_api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    open_mailed_link(client, fake_api)
    client.get("/appointments/manage")
    app.extensions["mai_webkit"].api.base_url = "http://127.0.0.1:9"  # the gateway cannot be reached

    unavailable = client.get("/appointments/manage")

    assert unavailable.status_code == 503
    assert "/api/v1/appointments/linked unreachable" in caplog.text  # the failure is logged...
    assert LINK_TOKEN not in caplog.text  # ...without the credential


# --- offices ----------------------------------------------------------------------------------------


def test_an_office_page_shows_its_opening_hours(client: FlaskClient, fake_api: FakeApi) -> None:
    in_english(client)

    page = client.get("/offices/IGI-CJ")

    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Serviciul pentru Imigrări al județului Cluj" in text
    assert "Tuesday 08:30-12:30, 13:00-16:00" in text
    assert "Sunday Closed that day" in text


def test_an_unknown_office_is_a_page_not_found(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("GET", "/api/v1/offices/IGI-XX", 404, {"type": "x/not-found", "status": 404})

    assert client.get("/offices/IGI-XX").status_code == 404
    assert client.get("/offices/..%2F..%2Fapi").status_code == 404


def test_the_appointment_pages_stylesheet_is_linked_and_served(client: FlaskClient, fake_api: FakeApi) -> None:
    open_mailed_link(client, fake_api)

    html = client.get("/appointments/manage").get_data(as_text=True)

    assert '<link rel="stylesheet" href="/static/immigration.css">' in html
    with client.get("/static/immigration.css") as sheet:
        assert sheet.status_code == 200 and ".slots" in sheet.get_data(as_text=True)


def test_the_earliest_free_time_can_be_taken_without_choosing_one(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    accepted = application("documents_accepted", [{"document_type": "photo", "status": "accepted"}])
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, accepted)
    fake_api.answer("GET", "/api/v1/offices/IGI-CJ/slots", 200, {"items": [slot(11, 1, 9)]})
    fake_api.answer("POST", "/api/v1/appointments", 201, appointment())
    html = client.get(f"/applications/{APPLICATION_ID}/appointment").get_data(as_text=True)

    booked = client.post(
        f"/applications/{APPLICATION_ID}/appointment", data={"csrf_token": csrf_token_of(html), "earliest": "1"}
    )

    assert booked.status_code == 303
    [sent] = fake_api.sent("POST", "/api/v1/appointments")
    assert sent.json() == {"application_id": APPLICATION_ID, "earliest": True}


def test_a_signed_in_applicant_moves_and_cancels_the_booked_appointment(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    booked = application(
        "appointment_booked", [{"document_type": "photo", "status": "accepted"}], appointment=appointment()
    )
    fake_api.answer("GET", f"/api/v1/immigration/applications/{APPLICATION_ID}", 200, booked)
    fake_api.answer("GET", "/api/v1/offices/IGI-CJ/slots", 200, {"items": [slot(31, 2, 9), slot(32, 2, 10)]})
    fake_api.answer("POST", f"/api/v1/appointments/{APPOINTMENT_ID}/reschedule", 201, appointment(days=2))
    fake_api.answer("POST", f"/api/v1/appointments/{APPOINTMENT_ID}/cancel", 200, appointment(status="cancelled"))
    html = client.get(f"/applications/{APPLICATION_ID}/appointment").get_data(as_text=True)
    assert f'action="/applications/{APPLICATION_ID}/appointment/reschedule"' in html
    assert f'action="/applications/{APPLICATION_ID}/appointment/cancel"' in html

    moved = client.post(
        f"/applications/{APPLICATION_ID}/appointment/reschedule",
        data={"csrf_token": csrf_token_of(html), "slot_id": "32"},
    )
    cancelled = client.post(
        f"/applications/{APPLICATION_ID}/appointment/cancel", data={"csrf_token": csrf_token_of(html)}
    )

    assert moved.status_code == 303 and cancelled.status_code == 303
    assert fake_api.sent("POST", f"/api/v1/appointments/{APPOINTMENT_ID}/reschedule")[0].json() == {"slot_id": 32}
    assert len(fake_api.sent("POST", f"/api/v1/appointments/{APPOINTMENT_ID}/cancel")) == 1
