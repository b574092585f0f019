"""Requests reach the service that owns their path, with the gateway's headers, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_request_reaches_the_upstream_that_owns_its_prefix(gateway, petition_upstream, identity_upstream):
    response = gateway.test_client().get("/api/v1/petitions/2024-000123?lang=ro")

    assert response.status_code == 200
    assert response.json == {
        "service": "petition-svc",
        "method": "GET",
        "path": "/api/v1/petitions/2024-000123?lang=ro",
        "body_bytes": 0,
    }
    assert identity_upstream.requests_to("/api") == []


def test_the_longest_matching_prefix_wins(gateway, petition_upstream, identity_upstream):
    client = gateway.test_client()

    staff = client.get("/api/v1/accounts/staff/42")
    citizen = client.get("/api/v1/accounts/me")

    assert staff.json["service"] == "petition-svc"
    assert citizen.json["service"] == "identity-svc"


def test_a_prefix_matches_whole_path_segments_only(gateway, petition_upstream):
    response = gateway.test_client().get("/api/v1/petitionsXYZ")

    assert response.status_code == 404
    assert petition_upstream.requests_to("/api") == []


def test_internal_paths_are_never_routed(gateway, petition_upstream, identity_upstream):
    client = gateway.test_client()

    direct = client.get("/internal/accounts/42")
    dotted = client.get("/api/v1/petitions/../../../internal/accounts/42")

    assert direct.status_code == 404
    assert direct.mimetype == "application/problem+json"
    assert dotted.status_code == 400
    assert petition_upstream.requests_to("/internal") + identity_upstream.requests_to("/internal") == []


def test_an_unknown_path_is_a_404_problem(gateway):
    response = gateway.test_client().get("/api/v2/anything")

    assert response.status_code == 404
    assert response.json["type"].endswith("/not-found")


def test_a_method_the_route_does_not_allow_is_refused_with_405(make_gateway, petition_upstream):
    app = make_gateway([{"prefix": "/.well-known/jwks.json", "upstream": petition_upstream.url, "methods": ["GET"]}])

    response = app.test_client().post("/.well-known/jwks.json", json={})

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert petition_upstream.requests_to("/.well-known") == []


def test_the_request_body_is_sent_on(gateway, petition_upstream):
    response = gateway.test_client().post("/api/v1/petitions", json={"subject": "Iluminat public"})

    assert response.status_code == 200
    assert petition_upstream.seen[-1].body == b'{"subject": "Iluminat public"}'


def test_a_changed_route_file_takes_effect_without_a_restart(
    make_gateway, petition_upstream, identity_upstream, rewrite_routes
):
    app = make_gateway([{"prefix": "/api/v1/faq", "upstream": petition_upstream.url}])
    client = app.test_client()
    assert client.get("/api/v1/faq").json["service"] == "petition-svc"

    routes_file = Path(app.config["SERVICE_SETTINGS"].routes_file)
    rewrite_routes(routes_file, [{"prefix": "/api/v1/faq", "upstream": identity_upstream.url}])

    assert client.get("/api/v1/faq").json["service"] == "identity-svc"


def test_an_invalid_route_file_change_keeps_the_previous_table(make_gateway, petition_upstream, rewrite_routes):
    app = make_gateway([{"prefix": "/api/v1/faq", "upstream": petition_upstream.url}])
    routes_file = Path(app.config["SERVICE_SETTINGS"].routes_file)

    rewrite_routes(routes_file, [{"prefix": "/internal", "upstream": "not a url"}])

    client = app.test_client()
    assert client.get("/api/v1/faq").json["service"] == "petition-svc"
    assert 'gateway_route_reloads_total{outcome="rejected"}' in client.get("/metrics").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/petitions/large", "/api/v1/petitions/large-chunked"])
def test_a_large_answer_is_streamed_back_whole(gateway, large_body, path):
    response = gateway.test_client().get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.get_data() == large_body
    if path.endswith("chunked"):  # of unknown length: framed again by the gateway, one header
        assert response.headers.getlist("Transfer-Encoding") == ["chunked"]
    else:  # of known length: sent on as it arrives, with its length
        assert response.headers["Content-Length"] == str(len(large_body))
        assert "Transfer-Encoding" not in response.headers


def test_the_upstream_connection_is_reused_across_requests(gateway, petition_upstream):
    client = gateway.test_client()
    for _ in range(5):
        client.get("/api/v1/petitions")
    client.get("/api/v1/petitions/large").get_data()
    client.get("/api/v1/petitions")

    assert len(petition_upstream.connections) == 1


def test_a_path_with_encoded_control_characters_is_routed_like_any_other(gateway, petition_upstream):
    response = gateway.test_client().get("/api/v1/petitions/H%0A%C2%98o/%01x")

    assert response.status_code == 200
    assert response.json["path"] == "/api/v1/petitions/H%0A%C2%98o/%01x"


def test_an_unrouted_path_with_control_characters_is_a_404_problem(gateway):
    response = gateway.test_client().get("/api/v9/%0A%01")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
