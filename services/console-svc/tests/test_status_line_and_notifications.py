"""The status line looks a petition up by number alone; an administrator sends a notification again."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import PREFIX, FakeApi, csrf_token_of
from .test_petitions import NUMBER, petition


def test_the_status_line_answers_by_number_alone_without_the_petitions_text(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("phone_operator@*")
    status = {k: v for k, v in petition().items() if k not in ("text", "petitioner", "subject", "attachments")}
    fake_api.answer("GET", f"/api/v1/petitions/{NUMBER}/status", 200, status)

    page = client.get(f"{PREFIX}/status-line?number={NUMBER.lower()}")

    assert page.status_code == 200
    assert NUMBER in page.get_data(as_text=True)
    assert len(fake_api.sent("GET", f"/api/v1/petitions/{NUMBER}/status")) == 1


def test_an_unknown_number_is_said_beside_the_field(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("phone_operator@*")
    fake_api.answer("GET", "/api/v1/petitions/IGPR-2026-999999/status", 404, {"status": 404, "type": "x/not-found"})

    page = client.get(f"{PREFIX}/status-line?number=IGPR-2026-999999")

    assert page.status_code == 400
    assert 'href="#number"' in page.get_data(as_text=True)


def test_a_malformed_number_never_reaches_the_api(signed_in, fake_api: FakeApi) -> None:
    client = signed_in("phone_operator@*")

    assert client.get(f"{PREFIX}/status-line?number=../../etc").status_code == 400
    assert [r for r in fake_api.requests if "/status" in r.path] == []


def test_an_administrator_resends_a_notification_with_an_idempotency_key(signed_in, fake_api: FakeApi) -> None:
    client: FlaskClient = signed_in("admin@*")
    notification_id = "3f2b8c1e-0d4a-4e7b-9c55-1a2b3c4d5e6f"
    fake_api.answer("POST", f"/api/v1/notifications/{notification_id}/resend", 202, {"status": "created"})
    token = csrf_token_of(client.get(f"{PREFIX}/notifications").get_data(as_text=True))

    page = client.post(f"{PREFIX}/notifications/resend", data={"csrf_token": token, "notification_id": notification_id})

    assert page.status_code == 200
    [sent] = fake_api.sent("POST", f"/api/v1/notifications/{notification_id}/resend")
    assert sent.headers.get("Idempotency-Key")
