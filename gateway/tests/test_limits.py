"""Per-route limits: rate per client address (429 with Retry-After) and body size (413)."""

from __future__ import annotations

import io


def test_the_rate_limit_is_per_client_and_per_route_and_answers_429_with_retry_after(make_gateway, petition_upstream):
    app = make_gateway(
        [
            {"prefix": "/api/v1/auth", "upstream": petition_upstream.url, "rate_limit": "2/minute"},
            {"prefix": "/api/v1/faq", "upstream": petition_upstream.url, "rate_limit": "100/minute"},
        ]
    )
    client = app.test_client()
    first_client = {"REMOTE_ADDR": "198.51.100.7"}

    statuses = [client.post("/api/v1/auth/login", environ_base=first_client).status_code for _ in range(3)]
    refused = client.post("/api/v1/auth/login", environ_base=first_client)
    other_route = client.get("/api/v1/faq", environ_base=first_client)
    other_client = client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": "198.51.100.8"})

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json["retry_after"] == int(refused.headers["Retry-After"])
    assert other_route.status_code == 200
    assert other_client.status_code == 200
    assert len(petition_upstream.requests_to("/api/v1/auth")) == 3


def test_rate_limit_rejections_are_counted_per_route(make_gateway, petition_upstream):
    client = make_gateway(
        [{"prefix": "/api/v1/auth", "upstream": petition_upstream.url, "rate_limit": "1/minute"}]
    ).test_client()
    client.get("/api/v1/auth/session")
    client.get("/api/v1/auth/session")

    assert 'gateway_rate_limited_total{route="/api/v1/auth"}' in client.get("/metrics").get_data(as_text=True)


def test_a_body_over_the_route_limit_is_refused_with_413_before_the_upstream_is_called(gateway, petition_upstream):
    response = gateway.test_client().post("/api/v1/petitions", data=b"x" * 1025, content_type="text/plain")

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["max_body_bytes"] == 1024
    assert petition_upstream.requests_to("/api/v1/petitions") == []


def test_a_chunked_body_over_the_route_limit_is_refused_with_413(gateway, petition_upstream):
    response = gateway.test_client().post(
        "/api/v1/petitions",
        input_stream=io.BytesIO(b"x" * 5000),
        environ_overrides={"wsgi.input_terminated": True},
        content_type="text/plain",
    )

    assert response.status_code == 413
    assert petition_upstream.requests_to("/api/v1/petitions") == []


def test_a_body_at_the_limit_is_sent_on(gateway, petition_upstream):
    response = gateway.test_client().post("/api/v1/petitions", data=b"x" * 1024, content_type="text/plain")

    assert response.status_code == 200
    assert response.json["body_bytes"] == 1024


def test_a_large_body_is_streamed_to_the_upstream_whole(make_gateway, petition_upstream):
    client = make_gateway(
        [{"prefix": "/api/v1/immigration", "upstream": petition_upstream.url, "max_body_bytes": 6 * 1024 * 1024}]
    ).test_client()
    document = bytes(range(256)) * (5 * 1024 * 4)  # 5 MiB scanned document

    response = client.put("/api/v1/immigration/documents/1", data=document, content_type="application/pdf")

    assert response.status_code == 200
    assert petition_upstream.seen[-1].body == document
