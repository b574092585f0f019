"""Staff sign-in: only staff accounts get a session, tokens stay on the server, pages follow the roles."""

from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import PREFIX, FakeApi, sign_in_as


def test_the_console_is_served_under_its_prefix_and_its_root_sends_staff_there(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == f"{PREFIX}/"
    assert client.get("/sign-in").status_code == 404
    assert client.get("/healthz").status_code == 200

    page = client.get(f"{PREFIX}/")

    assert page.status_code == 303
    assert page.headers["Location"].startswith(f"{PREFIX}/sign-in")


def test_a_staff_member_signs_in_and_the_tokens_stay_on_the_server(client: FlaskClient, fake_api: FakeApi) -> None:
    answer = sign_in_as(client, fake_api, "petition_clerk@IGPR")

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{PREFIX}/"
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("console_session="))
    assert "HttpOnly" in cookie and f"Path={PREFIX}" in cookie
    assert "access-token" not in cookie and "refresh-token" not in cookie
    home = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert f'href="{PREFIX}/petitions"' in home
    assert f'href="{PREFIX}/status-line"' in home
    assert f'href="{PREFIX}/documents"' not in home
    assert "IGPR" in home


def test_a_citizen_account_is_refused_and_its_tokens_revoked(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/logout", 204)

    answer = sign_in_as(client, fake_api, kind="citizen")

    assert answer.status_code == 400
    assert "Citizens sign in on the e-services portal" in answer.get_data(as_text=True) or "portal" in answer.get_data(
        as_text=True
    )
    assert len(fake_api.sent("POST", "/api/v1/auth/logout")) == 1
    assert client.get(f"{PREFIX}/").status_code == 303  # still signed out


def test_a_wrong_password_is_explained_and_nothing_is_kept(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer(
        "POST", "/api/v1/auth/login", 401, {"type": "https://errors/login-refused", "status": 401, "title": "x"}
    )
    page = client.get(f"{PREFIX}/sign-in").get_data(as_text=True)
    from .conftest import csrf_token_of

    answer = client.post(
        f"{PREFIX}/sign-in", data={"csrf_token": csrf_token_of(page), "email": "a@mai.gov.ro", "password": "nope"}
    )

    assert answer.status_code == 400
    assert 'class="error-summary"' in answer.get_data(as_text=True)
    assert 'value="nope"' not in answer.get_data(as_text=True)


def test_a_page_outside_the_members_roles_is_forbidden(client: FlaskClient, fake_api: FakeApi) -> None:
    sign_in_as(client, fake_api, "phone_operator@*")

    assert client.get(f"{PREFIX}/petitions").status_code == 403
    assert client.get(f"{PREFIX}/documents").status_code == 403
    assert client.get(f"{PREFIX}/notifications").status_code == 403
    assert client.get(f"{PREFIX}/status-line").status_code == 200


def test_after_sign_in_the_member_returns_to_the_page_asked_for(client: FlaskClient, fake_api: FakeApi) -> None:
    asked = client.get(f"{PREFIX}/status-line?number=IGPR-2026-000001")
    assert asked.status_code == 303
    assert "next=/staff/status-line" in asked.headers["Location"].replace("%2F", "/")
