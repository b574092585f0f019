"""Signing in and out: tokens stay on the server, the browser gets an opaque cookie."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.testing import FlaskClient
from mai_webkit.auth import call_api, login_required

from .conftest import SECRET, FakeApi, csrf_token_of, tokens


def sign_in(client: FlaskClient, email: str = "ana@example.ro", password: str = "correct horse battery", **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password, **extra})


def test_signing_in_keeps_the_tokens_on_the_server_behind_an_opaque_cookie(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())

    signed_in = sign_in(client)

    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/"
    [login] = fake_api.sent("POST", "/api/v1/auth/login")
    assert login.json() == {"email": "ana@example.ro", "password": "correct horse battery"}
    cookie_header = next(h for h in signed_in.headers.getlist("Set-Cookie") if h.startswith("portal_session="))
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
    value = cookie_header.split(";", 1)[0].split("=", 1)[1]
    assert "access-token" not in value and "refresh-token" not in value
    assert len(value) >= 40


def test_signing_in_gives_the_session_a_new_id(client: FlaskClient, fake_api: FakeApi) -> None:
    client.get("/sign-in")  # the form's CSRF secret opens a session
    before = client.get_cookie("portal_session")
    assert before is not None
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())

    sign_in(client)

    after = client.get_cookie("portal_session")
    assert after is not None and after.value != before.value


def test_the_citizens_address_is_forwarded_to_the_api(app: Flask, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    client = app.test_client()

    sign_in(client)

    assert fake_api.sent("POST", "/api/v1/auth/login")[0].headers["X-Forwarded-For"] == "127.0.0.1"


def test_a_wrong_password_is_explained_at_the_top_and_the_password_not_repeated(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    fake_api.answer(
        "POST",
        "/api/v1/auth/login",
        401,
        {"type": "https://e-services.mai.gov.ro/problems/login-refused", "status": 401},
    )

    refused = sign_in(client, password="wrong-password")

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Există o problemă" in html
    assert "Adresa de e-mail sau parola este greșită." in html
    assert "wrong-password" not in html


def test_empty_fields_are_named_in_the_summary_and_beside_each_field(client: FlaskClient, fake_api: FakeApi) -> None:
    refused = sign_in(client, email="", password="")

    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert '<a href="#email">Introduceți adresa de e-mail</a>' in html
    assert '<a href="#password">Introduceți parola</a>' in html
    assert 'aria-describedby="email-error-1"' in html
    assert fake_api.sent("POST", "/api/v1/auth/login") == []


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, fake_api: FakeApi) -> None:
    refused = client.post("/sign-in", data={"email": "ana@example.ro", "password": "x"})

    assert refused.status_code == 400
    assert "Formularul a expirat" in refused.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/auth/login") == []


def _protected_page(app: Flask) -> None:
    blueprint = Blueprint("probe", __name__)

    @blueprint.get("/probe/profile")
    @login_required
    def profile() -> str:
        return str(call_api("GET", "/api/v1/accounts/me").json()["email"])

    app.register_blueprint(blueprint)


def test_a_page_for_signed_in_people_sends_others_to_sign_in_and_back(app: Flask, fake_api: FakeApi) -> None:
    _protected_page(app)
    client = app.test_client()

    sent_away = client.get("/probe/profile?tab=1")

    assert sent_away.status_code == 303
    assert sent_away.headers["Location"] == "/sign-in?next=/probe/profile?tab%3D1"
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    fake_api.answer("GET", "/api/v1/accounts/me", 200, {"email": "ana@example.ro"})
    signed_in = sign_in(client, next="/probe/profile?tab=1")
    assert signed_in.headers["Location"] == "/probe/profile?tab=1"
    assert client.get("/probe/profile").get_data(as_text=True) == "ana@example.ro"
    assert fake_api.sent("GET", "/api/v1/accounts/me")[0].headers["Authorization"] == "Bearer access-token-1"


def test_the_sign_in_page_never_sends_to_another_site_afterwards(client: FlaskClient, fake_api: FakeApi) -> None:
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())

    signed_in = sign_in(client, next="https://evil.example/steal")

    assert signed_in.headers["Location"] == "/"


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(app: Flask, fake_api: FakeApi) -> None:
    _protected_page(app)
    client = app.test_client()
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    sign_in(client)
    fake_api.answer("GET", "/api/v1/accounts/me", 401, {"type": "about:blank", "status": 401})
    fake_api.answer("GET", "/api/v1/accounts/me", 200, {"email": "ana@example.ro"})
    fake_api.answer("POST", "/api/v1/auth/refresh", 200, tokens("access-token-2", "refresh-token-000000000002"))

    assert client.get("/probe/profile").get_data(as_text=True) == "ana@example.ro"

    [refresh] = fake_api.sent("POST", "/api/v1/auth/refresh")
    assert refresh.json() == {"refresh_token": "refresh-token-000000000001"}
    calls = fake_api.sent("GET", "/api/v1/accounts/me")
    assert [c.headers["Authorization"] for c in calls] == ["Bearer access-token-1", "Bearer access-token-2"]


def test_a_refused_refresh_ends_the_session_and_asks_to_sign_in_again(app: Flask, fake_api: FakeApi) -> None:
    _protected_page(app)
    client = app.test_client()
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    sign_in(client)
    fake_api.answer("GET", "/api/v1/accounts/me", 401, {"type": "about:blank", "status": 401})
    fake_api.answer("POST", "/api/v1/auth/refresh", 401, {"type": "about:blank", "status": 401})

    answer = client.get("/probe/profile")

    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/sign-in?next=/probe/profile")
    assert app.session_interface.count() == 0  # type: ignore[attr-defined]


def test_signing_out_revokes_the_refresh_token_and_deletes_the_session(app: Flask, fake_api: FakeApi) -> None:
    client = app.test_client()
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    fake_api.answer("POST", "/api/v1/auth/logout", 204)
    sign_in(client)
    home = client.get("/").get_data(as_text=True)
    assert "Ieșire din cont" in home

    signed_out = client.post("/sign-out", data={"csrf_token": csrf_token_of(home)})

    assert signed_out.status_code == 303
    assert fake_api.sent("POST", "/api/v1/auth/logout")[0].json() == {"refresh_token": "refresh-token-000000000001"}
    assert app.session_interface.count() == 0  # type: ignore[attr-defined]
    assert client.get_cookie("portal_session") is None
    assert "Intrare în cont" in client.get("/").get_data(as_text=True)


def test_the_secret_key_is_required(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from mai_chassis import ConfigurationError
    from portal.config import Settings

    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("API_BASE_URL", "http://gateway")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings.from_env()
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings.from_env()
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert Settings.from_env().session_cookie_secure is True


def test_behind_the_gateway_an_https_form_from_the_public_host_is_accepted(
    tmp_path, migrated_template, fake_api: FakeApi
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from portal import create_app
    from portal.config import Settings

    shutil.copy(migrated_template, tmp_path / "behind.db")
    app = create_app(
        Settings(
            environment="test",
            database_url=f"sqlite:///{tmp_path / 'behind.db'}",
            api_base_url=fake_api.url,
            secret_key=SECRET,
            log_json=False,
            trusted_proxy_hops=1,
        )
    )
    fake_api.answer("POST", "/api/v1/auth/login", 200, tokens())
    client = app.test_client()
    gateway = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "e-services.example"}
    form = client.get("/sign-in", headers=gateway, base_url="http://10.0.0.9:8106")

    signed_in = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token_of(form.get_data(as_text=True)), "email": "ana@example.ro", "password": "x"},
        headers={**gateway, "Referer": "https://e-services.example/sign-in"},
        base_url="http://10.0.0.9:8106",
    )

    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    assert fake_api.sent("POST", "/api/v1/auth/login")[0].headers["X-Forwarded-For"] == "203.0.113.5"
    assert "Secure" in signed_in.headers["Set-Cookie"]
    app.extensions["mai_database"].dispose()
    app.extensions["mai_webkit"].api.close()
