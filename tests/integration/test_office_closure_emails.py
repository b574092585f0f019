"""An office manager closes a day: the booked applicant's appointment moves (or is cancelled) and the
applicant is mailed — booking-svc and notify-svc as real processes behind the gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from booking.catalog import load_catalog
from booking.domain import OFFICE_TIME_ZONE
from booking.slot_horizon import generate_between
from mai_chassis import Database
from mai_chassis.testing.samples import sample_jpeg, sample_pdf, sample_png
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform

pytestmark = pytest.mark.integration

OFFICE = "IGI-CJ"
DOCUMENTS = ("application-form", "travel-document-grounds", "photo", "fee-receipt")


def _text(message: Any) -> str:
    return "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def test_an_office_manager_closes_a_day_and_the_booked_applicant_is_mailed(
    start_platform: Callable[..., Platform], mail_sink: SmtpSink, jwks_url: str, token_issuer: Any
) -> None:
    platform = start_platform(["booking", "notify"], extra_env={"JWT_JWKS_URL": jwks_url})
    today = datetime.now(OFFICE_TIME_ZONE).date()  # the offices' day, not UTC's (they differ late at night)
    last_generated = today + timedelta(days=21)
    database = Database(platform.database_urls["booking"], pool_size=1, max_overflow=0)
    generate_between(database, load_catalog(), today + timedelta(days=1), last_generated, [OFFICE])
    database.dispose()

    email = f"lena.{uuid.uuid4().hex[:6]}@example.org"
    citizen = token_issuer.citizen(str(uuid.uuid4()), email=email, name="Lena Novak", locale="en")
    officer = token_issuer.staff("immigration_officer", OFFICE)
    manager = token_issuer.staff("office_manager", OFFICE)
    other_manager = token_issuer.staff("office_manager", "IGI-B")
    api = requests.Session()

    def call(method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return api.request(method, platform.gateway_url + path, headers=headers, timeout=30, **kwargs)

    def mail_about(words: str) -> str:
        found = mail_sink.wait_for(lambda m: email in m["To"] and words in _text(m), timeout=45)
        return _text(found)

    # An applicant whose documents were accepted books the earliest slot.
    draft = call(
        "POST",
        "/api/v1/immigration/applications",
        citizen,
        json={"application_type": "travel-document", "office": OFFICE, "language": "en"},
    )
    assert draft.status_code == 201, draft.text
    application_id = draft.json()["application_id"]
    for code, content in zip(DOCUMENTS, (sample_pdf(), sample_pdf(), sample_png(), sample_jpeg()), strict=True):
        uploaded = call(
            "PUT",
            f"/api/v1/immigration/applications/{application_id}/documents/{code}",
            citizen,
            files={"file": (f"{code}.bin", content, "application/octet-stream")},
        )
        assert uploaded.status_code == 200, uploaded.text
    assert call("POST", f"/api/v1/immigration/applications/{application_id}/submit", citizen).status_code == 200
    decisions = [{"document_type": code, "decision": "accepted"} for code in DOCUMENTS]
    reviewed = call(
        "POST", f"/api/v1/immigration/applications/{application_id}/review", officer, json={"documents": decisions}
    )
    assert reviewed.json()["status"] == "documents_accepted", reviewed.text
    booked = call("POST", "/api/v1/appointments", citizen, json={"application_id": application_id, "earliest": True})
    assert booked.status_code == 201, booked.text
    booked_day = date.fromisoformat(booked.json()["starts_at"][:10])
    mail_about("Your appointment has been booked")

    # Another office's manager neither sees nor closes this office; an officer is no manager.
    closure = {"first_day": booked_day.isoformat(), "reason": "Power cut in the building"}
    assert call("GET", f"/api/v1/offices/{OFFICE}/schedule", other_manager).status_code == 404
    refused = call("POST", f"/api/v1/offices/{OFFICE}/closures", other_manager, json=closure)
    assert refused.status_code == 404 and refused.headers["Content-Type"] == "application/problem+json"
    assert call("POST", f"/api/v1/offices/{OFFICE}/closures", officer, json=closure).status_code == 403
    invalid = call("POST", f"/api/v1/offices/{OFFICE}/closures", manager, json={**closure, "reason": ""})
    assert invalid.status_code == 422 and "reason" in invalid.json()["errors"]

    schedule = call("GET", f"/api/v1/offices/{OFFICE}/schedule", manager)
    assert schedule.status_code == 200, schedule.text
    assert schedule.json()["capacity"] == {"visit": 4} and schedule.json()["opening_hours"]["monday"]

    # The manager closes the appointment's day: it moves to the nearest later free slot.
    closed = call("POST", f"/api/v1/offices/{OFFICE}/closures", manager, json=closure)
    assert closed.status_code == 201, closed.text
    (moved,) = closed.json()["moved"]
    assert moved["previous"]["appointment_id"] == booked.json()["appointment_id"]
    new_start = datetime.fromisoformat(moved["appointment"]["starts_at"])
    assert new_start.date() > booked_day
    moved_mail = mail_about("We have moved it")
    assert f"{new_start:%H:%M}" in moved_mail and "counter " + moved["appointment"]["counter"] in moved_mail
    shown = call("GET", f"/api/v1/immigration/applications/{application_id}", citizen).json()
    assert shown["appointment"]["appointment_id"] == moved["appointment"]["appointment_id"]
    free = call("GET", f"/api/v1/offices/{OFFICE}/slots", citizen, params={"from": booked_day, "to": booked_day})
    assert free.json()["items"] == []  # the closed day offers nothing

    # Closing every remaining generated day leaves no slot to move to: the appointment is cancelled.
    rest = {"first_day": new_start.date().isoformat(), "last_day": last_generated.isoformat(), "reason": "Renovation"}
    cancelled = call("POST", f"/api/v1/offices/{OFFICE}/closures", manager, json=rest)
    assert cancelled.status_code == 201, cancelled.text
    assert [a["appointment_id"] for a in cancelled.json()["cancelled"]] == [moved["appointment"]["appointment_id"]]
    assert "because the counter is closed that day" in mail_about("has been cancelled")
    listed = call("GET", f"/api/v1/offices/{OFFICE}/closures", manager).json()["items"]
    assert [(c["first_day"], c["moved"], c["cancelled"]) for c in listed] == [
        (booked_day.isoformat(), 1, 0),
        (new_start.date().isoformat(), 0, 1),
    ]
