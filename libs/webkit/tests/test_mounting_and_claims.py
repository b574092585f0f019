"""A front end mounted under a path of its own, and the claims kept beside the tokens."""

from __future__ import annotations

from flask import Flask, url_for
from mai_webkit.auth import token_claims
from mai_webkit.mounting import mount_under
from mai_webkit.testing import staff_token


def _mounted_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def home() -> str:
        return url_for("page")

    @app.get("/page")
    def page() -> str:
        return "page"

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    mount_under(app, "/staff")
    return app


def test_pages_are_served_under_the_prefix_and_links_carry_it() -> None:
    client = _mounted_app().test_client()

    assert client.get("/staff/").get_data(as_text=True) == "/staff/page"
    assert client.get("/staff/page").get_data(as_text=True) == "page"


def test_the_bare_root_leads_to_the_prefix_and_other_paths_are_not_the_apps() -> None:
    client = _mounted_app().test_client()

    assert client.get("/").headers["Location"] == "/staff/"
    assert client.get("/page").status_code == 404
    assert client.get("/stafford/page").status_code == 404


def test_probes_answer_at_the_root_only_never_under_the_public_prefix() -> None:
    client = _mounted_app().test_client()

    assert client.get("/healthz").get_data(as_text=True) == "ok"
    assert client.get("/staff/healthz").status_code == 404


def test_the_session_cookie_stays_on_the_prefix() -> None:
    assert _mounted_app().config["SESSION_COOKIE_PATH"] == "/staff"


def test_claims_are_read_from_a_jwt_and_nothing_from_anything_else() -> None:
    claims = token_claims(staff_token("petition_clerk@IGPR", subject="s-1"))

    assert claims == {"sub": "s-1", "kind": "staff", "roles": ["petition_clerk@IGPR"]}
    assert token_claims("access-token-1") == {}
    assert token_claims("a.!!!.c") == {}
