"""The signed-in citizen's e-mails and their delivery statuses, read from notify-svc."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import FakeApi, csrf_token_of, tokens


def sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    assert (
        client.post("/sign-in", data={"csrf_token": token, "email": "a@b.ro", "password": "p-123456789"}).status_code
        == 303
    )


def notification(subject: str, status: str) -> dict[str, object]:
    return {
        "id": "0c4b1a6e-1d2f-4a53-9e8b-7f6a5b4c3d2e",
        "event_type": "ro.mai.appointment.booked.v1",
        "subject": subject,
        "language": "ro",
        "sent_to": "ana@example.ro",
        "status": status,
        "created_at": "2026-12-06T08:15:00+00:00",
        "deliveries": [],
    }


def test_the_citizens_e_mails_are_listed_with_their_delivery_status(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    fake_api.answer(
        "GET",
        "/api/v1/notifications",
        200,
        {
            "items": [
                notification("Programare confirmată: 9 decembrie 2026, ora 10:00", "delivered"),
                notification("Cerere de imigrări: documente verificate", "temporary-failure"),
            ],
            "page": 1,
            "per_page": 20,
            "total": 2,
        },
    )

    page = client.get("/notifications")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Programare confirmată: 9 decembrie 2026, ora 10:00" in html
    assert "Livrat" in html and "Nelivrat încă: vom încerca din nou" in html
    assert "6 decembrie 2026, 10:15" in html  # shown in Romania's time
    [sent] = fake_api.sent("GET", "/api/v1/notifications")
    assert sent.path == "/api/v1/notifications?page=1&per_page=20"
    assert sent.headers["Authorization"] == "Bearer access-token-1"


def test_a_long_history_is_paged(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in(client, fake_api)
    client.get("/language/en")
    fake_api.answer(
        "GET",
        "/api/v1/notifications",
        200,
        {"items": [notification("Subject", "delivered")], "page": 2, "per_page": 20, "total": 45},
    )

    html = client.get("/notifications?page=2").get_data(as_text=True)

    assert "Page 2 of 3" in html
    assert 'href="/notifications?page=1"' in html and 'href="/notifications?page=3"' in html
    assert fake_api.sent("GET", "/api/v1/notifications")[0].path.endswith("page=2&per_page=20")


def test_the_e_mails_page_needs_a_signed_in_citizen(client: FlaskClient) -> None:
    page = client.get("/notifications")

    assert page.status_code == 303
    assert page.headers["Location"].startswith("/sign-in")
