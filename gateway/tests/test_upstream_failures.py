"""A down, slow or broken upstream is answered quickly with a 503, 504 or 502 problem."""

from __future__ import annotations

import time


def _gateway_to(make_gateway, upstream_url, **route):
    return make_gateway(
        [{"prefix": "/api/v1/certificates", "upstream": upstream_url, "service": "record-svc", **route}]
    )


def test_a_stopped_upstream_is_a_503_problem_in_well_under_a_second(make_gateway, stopped_upstream_url):
    client = _gateway_to(make_gateway, stopped_upstream_url).test_client()

    started = time.perf_counter()
    response = client.get("/api/v1/certificates/mine")
    elapsed = time.perf_counter() - started

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/upstream-unavailable")
    assert "record-svc" in response.json["detail"]
    assert response.headers["Retry-After"] == "5"
    assert elapsed < 0.5


def test_a_slow_upstream_is_a_504_problem_after_the_route_timeout(make_gateway, petition_upstream):
    client = _gateway_to(make_gateway, petition_upstream.url, timeout_seconds=0.3).test_client()

    started = time.perf_counter()
    response = client.get("/api/v1/certificates/slow")
    elapsed = time.perf_counter() - started

    assert response.status_code == 504
    assert response.json["type"].endswith("/upstream-timeout")
    assert 0.3 <= elapsed < 1.0
    assert len(petition_upstream.requests_to("/api/v1/certificates/slow")) == 1  # a timeout is not retried


def test_an_upstream_answering_garbage_is_a_502_problem_without_a_stack_trace(make_gateway, garbage_upstream):
    client = _gateway_to(make_gateway, garbage_upstream.url).test_client()

    response = client.post("/api/v1/certificates", json={"purpose": "employment"})

    assert response.status_code == 502
    assert response.json["type"].endswith("/upstream-bad-gateway")
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_idempotent_request_is_retried_once_and_a_post_never(make_gateway, garbage_upstream):
    client = _gateway_to(make_gateway, garbage_upstream.url).test_client()

    client.post("/api/v1/certificates", json={"purpose": "employment"})
    after_post = garbage_upstream.connections
    client.get("/api/v1/certificates/mine")
    after_get = garbage_upstream.connections

    assert after_post == 1
    assert after_get - after_post == 2


def test_upstream_failures_are_counted_per_route(make_gateway, stopped_upstream_url):
    client = _gateway_to(make_gateway, stopped_upstream_url).test_client()
    client.get("/api/v1/certificates/mine")

    metrics = client.get("/metrics").get_data(as_text=True)

    assert (
        'gateway_upstream_failures_total{failure="unavailable",route="/api/v1/certificates",upstream="record-svc"}'
        in metrics
    )
