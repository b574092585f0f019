"""Every page: Romanian by default, English one click away, and the browser told to be strict."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_the_home_page_is_in_romanian_by_default(client: FlaskClient) -> None:
    page = client.get("/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="ro">' in html
    assert "Serviciile online ale Ministerului Afacerilor Interne" in html
    assert 'hreflang="en"' in html


def test_the_language_link_switches_to_english_and_returns_to_the_page(client: FlaskClient) -> None:
    switched = client.get("/language/en?next=/sign-in")

    assert switched.status_code == 303
    assert switched.headers["Location"] == "/sign-in"
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>Sign in</h1>" in html
    assert 'hreflang="ro"' in html


def test_the_language_link_never_sends_the_visitor_to_another_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        switched = client.get("/language/en", query_string={"next": target})
        assert switched.headers["Location"] == "/", target


def test_an_unknown_language_is_ignored(client: FlaskClient) -> None:
    client.get("/language/xx")

    assert '<html lang="ro">' in client.get("/").get_data(as_text=True)


def test_pages_carry_a_strict_content_security_policy_and_are_not_stored(client: FlaskClient) -> None:
    page = client.get("/sign-in")

    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    html = page.get_data(as_text=True)
    assert "style=" not in html
    assert html.count("<script") == html.count('<script src="/static/') == 1  # no inline script


def test_the_stylesheet_is_served_and_may_be_cached(client: FlaskClient) -> None:
    with client.get("/static/webkit/webkit.css") as sheet:
        assert sheet.status_code == 200
        assert sheet.headers["Cache-Control"] == "public, max-age=3600"
        assert ".error-summary" in sheet.get_data(as_text=True)


def test_an_unknown_page_is_a_page_not_json(client: FlaskClient) -> None:
    missing = client.get("/no-such-page")

    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
    assert "Pagina nu a fost găsită" in missing.get_data(as_text=True)


def test_health_and_metrics_come_from_the_chassis(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok", "service": "portal-svc"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_reading_pages_anonymously_creates_no_session(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    client.get("/")
    client.get("/no-such-page")

    assert client.get_cookie("portal_session") is None
    assert app.session_interface.count() == 0


def test_the_home_page_says_which_services_need_an_account(client: FlaskClient) -> None:
    html = client.get("/language/en?next=/", follow_redirects=True).get_data(as_text=True)

    assert "No account needed." in html
    assert "You need an account and a verified identity." in html
    assert "You need an account." in html
