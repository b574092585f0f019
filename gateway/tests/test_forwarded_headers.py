"""What the upstream sees and what the client gets back: ids, trace context, forwarding, hop-by-hop."""

from __future__ import annotations

import uuid

import pytest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_request_id_is_created_returned_and_sent_to_the_upstream(gateway, petition_upstream):
    response = gateway.test_client().get("/api/v1/petitions")

    request_id = response.headers["X-Request-ID"]
    assert uuid.UUID(request_id)
    assert petition_upstream.seen[-1].headers["X-Request-ID"] == request_id


def test_a_clients_request_id_is_propagated_to_the_upstream(gateway, petition_upstream):
    response = gateway.test_client().get("/api/v1/petitions", headers={"X-Request-ID": "portal-7f3a9c"})

    assert response.headers["X-Request-ID"] == "portal-7f3a9c"
    assert petition_upstream.seen[-1].headers["X-Request-ID"] == "portal-7f3a9c"


def test_the_trace_context_is_propagated_to_the_upstream_in_the_same_trace(gateway, petition_upstream):
    gateway.test_client().get(
        "/api/v1/petitions", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "tracestate": "mai=1"}
    )

    version, trace_id, span_id, flags = petition_upstream.seen[-1].headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert len(span_id) == 16
    assert petition_upstream.seen[-1].headers["tracestate"] == "mai=1"


def test_a_trace_is_started_when_the_client_sends_none(gateway, petition_upstream):
    gateway.test_client().get("/api/v1/petitions")

    assert petition_upstream.seen[-1].headers["traceparent"].startswith("00-")


def test_the_gateway_log_lines_carry_the_request_id(gateway, petition_upstream, caplog):
    with caplog.at_level("DEBUG", logger="gateway"):
        gateway.test_client().get("/api/v1/petitions", headers={"X-Request-ID": "portal-log-1"})

    proxied = [record for record in caplog.records if record.name == "gateway.app"]
    assert [record.levelname for record in proxied] == ["DEBUG"]  # a successful answer: DEBUG only
    assert all(record.request_id == "portal-log-1" for record in proxied)


@pytest.fixture
def gateway_to_a_stopped_upstream(make_gateway, stopped_upstream_url):
    # Built before caplog: the app's logging set-up replaces the root logger's handlers.
    return make_gateway([{"prefix": "/api/v1/faq", "upstream": stopped_upstream_url, "service": "faq-svc"}])


def test_an_upstream_failure_is_logged_at_warning_with_the_request_id(gateway_to_a_stopped_upstream, caplog):
    with caplog.at_level("INFO", logger="gateway"):
        gateway_to_a_stopped_upstream.test_client().get("/api/v1/faq", headers={"X-Request-ID": "portal-log-2"})

    failed = [record for record in caplog.records if record.levelname == "WARNING" and record.name == "gateway.app"]
    assert [record.getMessage() for record in failed] == ["GET /api/v1/faq: upstream faq-svc failed (unavailable)"]
    assert failed[0].request_id == "portal-log-2"


def test_forwarding_headers_name_the_client_and_cannot_be_forged(gateway, petition_upstream):
    gateway.test_client().get(
        "/api/v1/petitions",
        headers={"X-Forwarded-For": "203.0.113.66", "Forwarded": "for=203.0.113.66"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )

    seen = petition_upstream.seen[-1].headers
    assert seen["X-Forwarded-For"] == "198.51.100.7"
    assert seen["X-Forwarded-Proto"] == "http"
    assert "Forwarded" not in seen


def test_a_trusted_proxys_forwarded_client_address_is_used(make_gateway, petition_upstream):
    app = make_gateway([{"prefix": "/api/v1/faq", "upstream": petition_upstream.url}], trusted_proxies=1)

    app.test_client().get(
        "/api/v1/faq",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )

    seen = petition_upstream.seen[-1].headers
    assert seen["X-Forwarded-For"] == "203.0.113.9"
    assert seen["X-Forwarded-Proto"] == "https"


def test_hop_by_hop_request_headers_are_not_forwarded_but_end_to_end_ones_are(gateway, petition_upstream):
    gateway.test_client().get(
        "/api/v1/petitions",
        headers={
            "Connection": "keep-alive, X-Client-Hop",
            "X-Client-Hop": "private to this hop",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Upgrade": "websocket",
            "Authorization": "Bearer header.payload.signature",
            "Accept-Language": "ro",
        },
    )

    seen = {name.lower() for name in petition_upstream.seen[-1].headers}
    assert seen.isdisjoint({"x-client-hop", "keep-alive", "te", "proxy-authorization", "upgrade"})
    assert petition_upstream.seen[-1].headers["Authorization"] == "Bearer header.payload.signature"
    assert petition_upstream.seen[-1].headers["Accept-Language"] == "ro"


def test_hop_by_hop_response_headers_are_stripped_and_repeated_ones_kept(gateway, petition_upstream):
    response = gateway.test_client().get("/api/v1/petitions")

    assert "X-Upstream-Hop" not in response.headers
    assert "Keep-Alive" not in response.headers
    assert response.headers.getlist("Set-Cookie") == ["first=1; Path=/", "second=2; Path=/"]


def test_an_upstream_cookie_is_never_sent_on_another_citizens_request(gateway, petition_upstream):
    client = gateway.test_client(use_cookies=False)
    client.get("/api/v1/petitions")

    client.get("/api/v1/petitions")

    assert "Cookie" not in petition_upstream.seen[-1].headers
