"""What operators use: health, readiness over the upstreams, metrics per route, the route files shipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway.config import Settings
from gateway.routes import RouteTableError, load_route_table
from mai_devtools.service_list import service_list

REPOSITORY = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_asking_the_upstreams(make_gateway, stopped_upstream_url):
    app = make_gateway([{"prefix": "/api/v1/faq", "upstream": stopped_upstream_url}])

    assert app.test_client().get("/healthz").status_code == 200


def test_ready_when_every_upstream_answers(gateway):
    response = gateway.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["checks"] == {"identity-svc": "ok", "petition-svc": "ok"}


def test_not_ready_when_an_upstream_is_down(make_gateway, petition_upstream, stopped_upstream_url):
    app = make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/api/v1/offices", "upstream": stopped_upstream_url, "service": "booking-svc"},
        ]
    )

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"]["petition-svc"] == "ok"
    assert response.json["checks"]["booking-svc"].startswith("unavailable")


def test_the_any_policy_stays_ready_but_degraded_when_one_upstream_is_down(
    make_gateway, petition_upstream, stopped_upstream_url
):
    app = make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/api/v1/offices", "upstream": stopped_upstream_url, "service": "booking-svc"},
        ],
        readiness_policy="any",
    )

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "degraded"


def test_metrics_count_requests_and_latency_per_route(gateway):
    client = gateway.test_client()
    client.get("/api/v1/accounts/me")

    metrics = client.get("/metrics").get_data(as_text=True)

    assert 'gateway_requests_total{method="GET",route="/api/v1/accounts",status="200"}' in metrics
    assert 'gateway_request_duration_seconds_count{method="GET",route="/api/v1/accounts"}' in metrics
    assert 'gateway_upstream_duration_seconds_count{route="/api/v1/accounts",upstream="identity-svc"}' in metrics


def test_a_method_the_client_invents_is_counted_as_other_not_as_a_series_of_its_own(gateway):
    client = gateway.test_client()
    # Methods the HTTP parser knows (it answers 400 to a word it does not) but no route serves.
    refused = [client.open(method, "/api/v1/accounts/me") for method in ("PROPFIND", "MKCOL", "PURGE")]
    unrouted = client.open("UNLOCK", "/nothing-here")

    metrics = client.get("/metrics").get_data(as_text=True)

    assert [answer.status_code for answer in refused] == [405, 405, 405] and unrouted.status_code in (404, 405)
    assert 'gateway_requests_total{method="other",route="/api/v1/accounts",status="405"} 3.0' in metrics
    assert 'gateway_request_duration_seconds_count{method="other",route="/api/v1/accounts"} 3.0' in metrics
    assert 'http_requests_total{method="other",route="unmatched"' in metrics  # the gateway's own pages' count
    assert not any(f'method="{name}"' in metrics for name in ("PROPFIND", "MKCOL", "PURGE", "UNLOCK"))


@pytest.mark.parametrize("routes_file", ["gateway/routes.local.yaml", "deploy/k8s/base/gateway/routes.yaml"])
def test_the_shipped_route_files_route_every_public_prefix(routes_file):
    table = load_route_table(REPOSITORY / routes_file)

    owners = {route.prefix: route.service for route in table}
    assert owners["/api/v1/petitions"] == owners["/api/v1/faq"] == owners["/api/v1/institutions"]
    assert owners["/.well-known/jwks.json"] == owners["/api/v1/auth"] == owners["/api/v1/staff"]
    assert owners["/api/v1/immigration"] == owners["/api/v1/appointments"] == owners["/api/v1/offices"]
    assert {"/api/v1/certificates", "/api/v1/notifications", "/api/v1/recommendations"} <= set(owners)
    assert table.match("/internal/accounts/1") is None


def test_the_local_route_file_points_at_every_service_on_its_local_port():
    table = load_route_table(REPOSITORY / "gateway/routes.local.yaml")

    assert table.upstreams() == {s.name: f"http://127.0.0.1:{s.web_port}" for s in service_list()}


@pytest.mark.parametrize(
    ("routes", "complaint"),
    [
        ("routes: [{prefix: /internal/x, upstream: 'http://a'}]", "never routed"),
        ("routes: [{prefix: /api, upstream: 'http://a', rate_limit: 'lots'}]", "rate limit"),
        ("routes: [{prefix: /api, upstream: 'http://a', colour: blue}]", "Unknown field"),
        ("routes: [{prefix: /api, upstream: 'ftp://a'}]", "upstream"),
        ("routes: []", "routes"),
        ("routes: [{prefix: /metrics, upstream: 'http://a'}]", "answered by the gateway"),
    ],
)
def test_an_invalid_route_file_is_refused_with_the_reason(tmp_path, routes, complaint):
    path = tmp_path / "routes.yaml"
    path.write_text(routes)

    with pytest.raises(RouteTableError, match=complaint):
        load_route_table(path)


def test_the_route_file_setting_is_required(monkeypatch):
    monkeypatch.delenv("GATEWAY_ROUTES_FILE", raising=False)

    with pytest.raises(Exception, match="GATEWAY_ROUTES_FILE"):
        Settings.from_env()
