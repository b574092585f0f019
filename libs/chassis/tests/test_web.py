"""The Flask side: problem+json everywhere, strict JSON input, request ids, health and metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import pytest
from flask import Flask, jsonify
from mai_chassis import Database, Problem, ServiceSettings, create_service_app, load_json
from mai_chassis.problems import PROBLEM_JSON
from marshmallow import Schema, fields
from sqlalchemy.exc import OperationalError


@dataclass(frozen=True, kw_only=True)
class WebSettings(ServiceSettings):
    service_name: ClassVar[str] = "web-test-svc"


class GreetingSchema(Schema):
    name = fields.String(required=True)


@pytest.fixture
def app(sqlite_database: Database) -> Flask:
    settings = WebSettings(database_url=sqlite_database.url, kafka_bootstrap_servers="127.0.0.1:1", log_json=False)
    app = create_service_app(settings, import_name=__name__, database=sqlite_database)

    @app.post("/greetings")
    def greet():  # type: ignore[no-untyped-def]
        payload = load_json(GreetingSchema)
        return jsonify(greeting=f"Buna ziua, {payload['name']}"), 201

    @app.get("/teapot")
    def teapot():  # type: ignore[no-untyped-def]
        raise Problem(418, "Short and stout.", kind="teapot", brewing=True)

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    @app.get("/db-down")
    def db_down():  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    return app


def test_unknown_route_is_a_problem_document(app: Flask) -> None:
    response = app.test_client().get("/nowhere")
    assert response.status_code == 404
    assert response.content_type == PROBLEM_JSON
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found" and body["instance"] == "/nowhere"


def test_a_problem_carries_its_type_and_extensions(app: Flask) -> None:
    body = app.test_client().get("/teapot").get_json()
    assert body["type"].endswith("/problems/teapot")
    assert body["brewing"] is True
    assert body["detail"] == "Short and stout."


def test_unexpected_errors_hide_internals(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert "unhandled error" in caplog.text


def test_database_outage_is_503_with_retry_after(app: Flask) -> None:
    response = app.test_client().get("/db-down")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.content_type == PROBLEM_JSON


def test_body_that_is_not_json_is_415(app: Flask) -> None:
    response = app.test_client().post("/greetings", data="name=Ion", content_type="text/plain")
    assert response.status_code == 415


def test_malformed_json_is_400(app: Flask) -> None:
    response = app.test_client().post("/greetings", data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_unknown_and_missing_fields_are_422_naming_each_field(app: Flask) -> None:
    response = app.test_client().post("/greetings", json={"nickname": "Ionel"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"name", "nickname"}


def test_valid_json_reaches_the_view(app: Flask) -> None:
    response = app.test_client().post("/greetings", json={"name": "Ion"})
    assert response.status_code == 201
    assert response.get_json() == {"greeting": "Buna ziua, Ion"}


def test_request_id_is_created_when_absent_and_kept_when_given(app: Flask) -> None:
    client = app.test_client()
    created = client.get("/healthz").headers["X-Request-ID"]
    assert len(created) == 36
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    # A header that could inject into logs is replaced, not echoed.
    assert client.get("/healthz", headers={"X-Request-ID": "bad id <x>"}).headers["X-Request-ID"] != "bad id <x>"


def test_readiness_needs_the_database_but_only_reports_the_broker(app: Flask) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unavailable")
    assert body["status"] == "degraded"


def test_readiness_fails_when_the_database_is_unreachable(tmp_path: pytest.TempPathFactory) -> None:
    settings = WebSettings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", kafka_bootstrap_servers="", log_json=False
    )
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unavailable")


def test_metrics_count_requests_by_route_and_status(app: Flask) -> None:
    client = app.test_client()
    client.post("/greetings", json={"name": "Ion"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="POST",route="/greetings",service="web-test-svc",status="201"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'outbox_pending_events{service="web-test-svc"} 0.0' in text


def test_a_method_the_client_invents_is_counted_as_other_not_as_a_series_of_its_own(app: Flask) -> None:
    from prometheus_client import REGISTRY

    before = _served("other", "unmatched", 405)
    client = app.test_client()
    answers = [client.open("/greetings", method=f"BREW{n}").status_code for n in range(3)]

    assert answers == [405, 405, 405]
    assert _served("other", "unmatched", 405) == (before[0] + 3, before[1] + 3)
    labels = {"service": "web-test-svc", "method": "BREW0", "route": "unmatched", "status": "405"}
    assert REGISTRY.get_sample_value("http_requests_total", labels) is None


def _served(method: str, route: str, status: int) -> tuple[float, float]:
    """How many requests of (method, route) answered ``status``, and how many of (method, route) were timed."""
    from prometheus_client import REGISTRY

    labels = {"service": "web-test-svc", "method": method, "route": route}
    counted = REGISTRY.get_sample_value("http_requests_total", {**labels, "status": str(status)})
    timed = REGISTRY.get_sample_value("http_request_duration_seconds_count", labels)
    return counted or 0.0, timed or 0.0


@pytest.mark.parametrize("kept_series", [256, 1], ids=["series-kept", "past-the-kept-series"])
def test_each_request_is_counted_once_under_its_method_route_and_status(
    app: Flask, kept_series: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mai_chassis.web._MAX_KEPT_SERIES", kept_series)
    watched = [("POST", "/greetings", 201), ("POST", "/greetings", 422), ("GET", "/teapot", 418)]
    watched += [("GET", "unmatched", 404), ("DELETE", "unmatched", 405)]
    before = {key: _served(*key) for key in watched}
    client = app.test_client()
    for _ in range(3):
        assert client.post("/greetings", json={"name": "Ion"}).status_code == 201
    for _ in range(2):
        assert client.post("/greetings", json={}).status_code == 422
    assert client.get("/teapot").status_code == 418
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/greetings").status_code == 405
    assert client.get("/healthz").status_code == 200  # probes are not counted
    counted = {key: _served(*key)[0] - before[key][0] for key in watched}
    assert counted == {
        ("POST", "/greetings", 201): 3,
        ("POST", "/greetings", 422): 2,
        ("GET", "/teapot", 418): 1,
        ("GET", "unmatched", 404): 1,
        ("DELETE", "unmatched", 405): 1,
    }
    assert _served("POST", "/greetings", 201)[1] - before["POST", "/greetings", 201][1] == 5  # 201s and 422s
    assert _served("GET", "/healthz", 200) == (0.0, 0.0)


@pytest.mark.parametrize("raw", ['{"name": "Ion\\u0000"}', '{"name": "Ion\\ud800"}'], ids=["nul", "lone-surrogate"])
def test_text_no_database_can_store_is_422_naming_the_field(app: Flask, raw: str) -> None:
    response = app.test_client().post("/greetings", data=raw, content_type="application/json")
    assert response.status_code == 422
    assert "name" in response.get_json()["errors"]


def test_a_new_trace_and_a_child_span_have_the_w3c_shape_and_are_random() -> None:
    from mai_chassis.web import _TRACEPARENT_SHAPE, new_traceparent, request_ids

    first, second = new_traceparent(), new_traceparent()
    assert _TRACEPARENT_SHAPE.match(first) and _TRACEPARENT_SHAPE.match(second) and first != second
    _, child = request_ids("", first)
    assert _TRACEPARENT_SHAPE.match(child)
    assert child.split("-")[1] == first.split("-")[1] and child.split("-")[2] != first.split("-")[2]
    _, fresh = request_ids("", "00-not-a-trace")
    assert _TRACEPARENT_SHAPE.match(fresh) and fresh.split("-")[1] != first.split("-")[1]


def test_a_new_request_id_is_a_random_version_4_uuid_and_a_well_formed_one_is_kept() -> None:
    import uuid

    from mai_chassis.web import request_ids

    made = [request_ids("", "")[0] for _ in range(200)]
    parsed = [uuid.UUID(text) for text in made]
    assert all(str(value) == text for value, text in zip(parsed, made, strict=True))
    assert {value.version for value in parsed} == {4} and {value.variant for value in parsed} == {uuid.RFC_4122}
    assert len(set(made)) == 200
    assert request_ids("client-chosen:42", "")[0] == "client-chosen:42"
    assert request_ids("no spaces allowed", "")[0] != "no spaces allowed"
