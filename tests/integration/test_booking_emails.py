"""The immigration journey through the gateway as real processes, ending in the applicant's mailbox."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
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


def test_an_applicant_is_mailed_at_every_step_from_review_to_pickup(
    start_platform: Callable[..., Platform], mail_sink: SmtpSink, jwks_url: str, token_issuer: Any
) -> None:
    platform = start_platform(["booking", "notify"], extra_env={"JWT_JWKS_URL": jwks_url})
    database = Database(platform.database_urls["booking"], pool_size=1, max_overflow=0)
    today = datetime.now(OFFICE_TIME_ZONE).date()  # the offices' day, not UTC's (they differ late at night)
    generate_between(database, load_catalog(), today + timedelta(days=1), today + timedelta(days=21), [OFFICE])
    database.dispose()

    email = f"maria.{uuid.uuid4().hex[:6]}@example.org"
    citizen = token_issuer.citizen(str(uuid.uuid4()), email=email, name="Maria Garcia", locale="en")
    officer = token_issuer.staff("immigration_officer", OFFICE)
    api = requests.Session()

    def call(method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return api.request(method, platform.gateway_url + path, headers=headers, timeout=30, **kwargs)

    def mail_about(words: str) -> str:
        found = mail_sink.wait_for(lambda m: email in m["To"] and words in _text(m), timeout=45)
        return _text(found)

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

    call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        officer,
        json={
            "documents": [
                {"document_type": c, "decision": "accepted"}
                if c != "photo"
                else {"document_type": c, "decision": "rejected", "feedback": "Face not visible."}
                for c in DOCUMENTS
            ]
        },
    )
    assert "Face not visible." in mail_about("rejected")

    call(
        "PUT",
        f"/api/v1/immigration/applications/{application_id}/documents/photo",
        citizen,
        files={"file": ("photo.png", sample_png(), "image/png")},
    )
    call("POST", f"/api/v1/immigration/applications/{application_id}/submit", citizen)
    reviewed = call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/review",
        officer,
        json={"documents": [{"document_type": "photo", "decision": "accepted"}]},
    )
    assert reviewed.json()["status"] == "documents_accepted"
    mail_about("Every document was accepted")

    booked = call("POST", "/api/v1/appointments", citizen, json={"application_id": application_id, "earliest": True})
    assert booked.status_code == 201, booked.text
    confirmation = mail_about("Your appointment has been booked")
    # The link opens the portal's page; the page reads and acts through the API with the link's token.
    link = re.search(r"http\S+/appointments/manage/(\S+)", confirmation)
    assert link is not None, confirmation
    manage_path = f"/api/v1/appointments/manage/{link.group(1)}"
    shown = call("GET", manage_path)
    assert shown.json()["appointment"]["status"] == "booked"  # the GET a mail scanner makes changes nothing
    assert call("POST", f"{manage_path}/cancel").json()["status"] == "cancelled"
    mail_about("has been cancelled")

    rebooked = call("POST", "/api/v1/appointments", citizen, json={"application_id": application_id, "earliest": True})
    assert rebooked.status_code == 201, rebooked.text
    visit = call(
        "POST",
        f"/api/v1/immigration/applications/{application_id}/visit",
        officer,
        json={"pickup_from": today.isoformat()},
    )
    assert visit.json()["status"] == "ready_for_pickup", visit.text
    mail_about("ready to be picked up")
    closed = call("POST", f"/api/v1/immigration/applications/{application_id}/pickup", officer)
    assert closed.json()["status"] == "closed"
