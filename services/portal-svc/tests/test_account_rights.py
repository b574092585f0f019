"""The citizen downloads their data and deletes their account through the portal (a fake API behind it)."""

from __future__ import annotations

from flask.testing import FlaskClient
from mai_webkit.testing import FakeApi, csrf_token_of, tokens

PROBLEM = {"type": "https://e-services.mai.gov.ro/problems/password-refused", "title": "Forbidden", "status": 403}
KEPT = [
    {"data_class": "closed-petitions", "service": "petition-svc", "term": "P10Y", "basis": "Law 16/1996"},
    {"data_class": "expired-certificates", "service": "record-svc", "term": "P1Y", "basis": "disputes"},
]


def _sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    page = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={
            "csrf_token": csrf_token_of(page.get_data(as_text=True)),
            "email": "ana@example.ro",
            "password": "correct horse battery",
        },
    )
    assert answer.status_code == 303


def _delete(client: FlaskClient, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/account/delete")
    assert page.status_code == 200
    return client.post(
        "/account/delete", data={"csrf_token": csrf_token_of(page.get_data(as_text=True)), "password": password}
    )


def test_the_download_is_the_apis_zip_never_cached(client: FlaskClient, fake_api: FakeApi) -> None:
    _sign_in(client, fake_api)
    fake_api.answer("GET", "/api/v1/accounts/me/export", 200, b"PK\x03\x04zip", **{"Content-Type": "application/zip"})

    answer = client.get("/account/data")

    assert answer.status_code == 200 and answer.data == b"PK\x03\x04zip"
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert fake_api.sent("GET", "/api/v1/accounts/me/export")[0].headers["Authorization"] == "Bearer access-token-1"


def test_a_wrong_password_is_said_beside_the_field_and_the_citizen_stays_signed_in(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    _sign_in(client, fake_api)
    fake_api.answer("DELETE", "/api/v1/accounts/me", 403, PROBLEM)

    answer = _delete(client, "guess")

    assert answer.status_code == 400
    assert "Parola este greșită. Contul nu a fost șters." in answer.get_data(as_text=True)
    assert fake_api.sent("DELETE", "/api/v1/accounts/me")[0].json() == {"password": "guess"}
    assert client.get("/account/delete").status_code == 200  # still signed in


def test_deleting_signs_out_and_lists_what_was_kept_and_why(client: FlaskClient, fake_api: FakeApi) -> None:
    _sign_in(client, fake_api)
    fake_api.answer(
        "DELETE",
        "/api/v1/accounts/me",
        200,
        {"account_id": "6c1d2a8e-90b4-4f0e-8f59-3b7c9d2e4a11", "deleted_at": "2026-03-02T09:00:00Z", "kept": KEPT},
    )

    answer = _delete(client, "correct horse battery")

    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Contul dumneavoastră a fost șters" in page
    assert "Petițiile trimise de dumneavoastră" in page and "10 ani după închiderea petiției" in page
    assert "Legea 16/1996" in page
    assert "1 an după expirarea certificatului" in page
    assert client.get("/account/delete").status_code == 303  # signed out
