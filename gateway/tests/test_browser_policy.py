"""Security headers on every response, and CORS only for the configured origins."""

from __future__ import annotations

import pytest

ALLOWED_ORIGIN = "https://portal.mai.gov.ro"


@pytest.mark.parametrize("path", ["/api/v1/petitions", "/healthz", "/api/v2/unknown", "/openapi.json"])
def test_every_response_carries_the_security_headers(gateway, path):
    response = gateway.test_client().get(path)

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_docs_page_policy_allows_only_the_pinned_docs_ui(gateway):
    response = gateway.test_client().get("/docs")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://cdn.jsdelivr.net" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_allowed_origin_may_read_the_answer(gateway):
    response = gateway.test_client().get("/api/v1/petitions", headers={"Origin": ALLOWED_ORIGIN})

    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_another_origin_is_not_allowed(gateway):
    response = gateway.test_client().get("/api/v1/petitions", headers={"Origin": "https://phishing.example"})

    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_is_answered_by_the_gateway_without_calling_the_upstream(gateway, petition_upstream):
    response = gateway.test_client().options(
        "/api/v1/petitions",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    assert petition_upstream.requests_to("/api") == []


def test_without_configured_origins_no_cors_header_is_sent(make_gateway, petition_upstream):
    app = make_gateway([{"prefix": "/api/v1/faq", "upstream": petition_upstream.url}])

    response = app.test_client().get("/api/v1/faq", headers={"Origin": ALLOWED_ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers
