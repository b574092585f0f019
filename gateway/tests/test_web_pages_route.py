"""The root route (the citizen portal's pages) and the front ends whose word for a citizen's address counts."""

from __future__ import annotations

import pytest
from gateway.routes import RouteTableError, load_route_table

from .conftest import FakeUpstream, GatewayFactory, GatewayUnderTest, write_routes


@pytest.fixture
def portal_upstream() -> FakeUpstream:
    upstream = FakeUpstream("portal-svc").start()
    yield upstream
    upstream.stop()


@pytest.fixture
def site(
    make_gateway: GatewayFactory, petition_upstream: FakeUpstream, portal_upstream: FakeUpstream
) -> GatewayUnderTest:
    return make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/", "upstream": portal_upstream.url, "service": "portal-svc", "rate_limit": "2/minute"},
        ],
        defaults={"rate_limit": "1000/minute"},
    )


def test_pages_go_to_the_root_route_and_the_api_to_its_own(
    site: GatewayUnderTest, petition_upstream, portal_upstream
) -> None:
    client = site.test_client()

    assert client.get("/").json["service"] == "portal-svc"
    assert client.get("/petitions/status?number=X").json["path"] == "/petitions/status?number=X"
    assert client.get("/api/v1/petitions/MAI-1").json["service"] == "petition-svc"


def test_an_unknown_api_path_stays_a_404_problem_and_never_reaches_the_pages(
    site: GatewayUnderTest, portal_upstream
) -> None:
    answer = site.test_client().get("/api/v1/nothing-here")

    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert portal_upstream.requests_to("/api") == []


def test_the_gateways_own_paths_are_not_taken_by_the_root_route(site: GatewayUnderTest, portal_upstream) -> None:
    client = site.test_client()

    assert client.get("/healthz").json["service"] == "gateway"
    assert client.get("/openapi.json").json["openapi"].startswith("3.")
    assert client.get("/docs").status_code == 200
    assert [s.path for s in portal_upstream.seen if s.path not in ("/healthz", "/openapi.json")] == []


def test_the_pages_upstream_is_not_asked_for_an_api_description(site: GatewayUnderTest, portal_upstream) -> None:
    document = site.test_client().get("/openapi.json").json

    assert "portal-svc" not in document["x-gateway-upstreams"]
    assert portal_upstream.requests_to("/openapi.json") == []


def test_the_page_cookie_of_the_portal_reaches_the_browser(site: GatewayUnderTest) -> None:
    answer = site.test_client().get("/sign-in")

    assert answer.headers.getlist("Set-Cookie") == ["first=1; Path=/", "second=2; Path=/"]


def test_a_root_prefix_is_accepted_in_the_route_file_but_internal_paths_still_are_not(tmp_path) -> None:
    table = load_route_table(write_routes(tmp_path / "ok.yaml", [{"prefix": "/", "upstream": "http://portal"}]))
    assert table.match("/internal/x") is None
    assert table.match("/api") is None
    assert table.match("/account").service == "portal"
    with pytest.raises(RouteTableError, match="never routed"):
        load_route_table(write_routes(tmp_path / "bad.yaml", [{"prefix": "/internal", "upstream": "http://a"}]))


def _front_end_gateway(make_gateway: GatewayFactory, petition_upstream: FakeUpstream) -> GatewayUnderTest:
    return make_gateway(
        [{"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "rate_limit": "2/minute"}],
        trusted_proxy_networks=("10.8.0.0/24",),
    )


def test_a_trusted_front_end_is_rate_limited_per_citizen_not_as_a_whole(make_gateway, petition_upstream) -> None:
    client = _front_end_gateway(make_gateway, petition_upstream).test_client()
    portal = {"REMOTE_ADDR": "10.8.0.7"}

    for _ in range(2):
        assert (
            client.get("/api/v1/petitions", headers={"X-Forwarded-For": "203.0.113.1"}, environ_base=portal).status_code
            == 200
        )
    assert (
        client.get("/api/v1/petitions", headers={"X-Forwarded-For": "203.0.113.1"}, environ_base=portal).status_code
        == 429
    )
    # Another citizen through the same portal has their own allowance.
    assert (
        client.get("/api/v1/petitions", headers={"X-Forwarded-For": "203.0.113.2"}, environ_base=portal).status_code
        == 200
    )
    assert petition_upstream.seen[-1].headers["X-Forwarded-For"] == "203.0.113.2"


def test_anyone_else_cannot_pick_their_address_with_the_header(make_gateway, petition_upstream) -> None:
    client = _front_end_gateway(make_gateway, petition_upstream).test_client()
    outsider = {"REMOTE_ADDR": "198.51.100.9"}

    for index in range(2):
        headers = {"X-Forwarded-For": f"203.0.113.{10 + index}"}
        assert client.get("/api/v1/petitions", headers=headers, environ_base=outsider).status_code == 200
    assert petition_upstream.seen[-1].headers["X-Forwarded-For"] == "198.51.100.9"
    third = client.get("/api/v1/petitions", headers={"X-Forwarded-For": "203.0.113.99"}, environ_base=outsider)
    assert third.status_code == 429


def test_a_network_that_is_not_one_stops_the_gateway_from_starting(make_gateway) -> None:
    from mai_chassis import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a network"):
        make_gateway([{"prefix": "/api/v1/x", "upstream": "http://127.0.0.1:9"}], trusted_proxy_networks=("portal",))


def test_the_portals_static_files_are_routed_not_answered_by_the_gateway(
    site: GatewayUnderTest, portal_upstream
) -> None:
    answer = site.test_client().get("/static/webkit/webkit.css")

    assert answer.json["service"] == "portal-svc"
    assert portal_upstream.requests_to("/static/webkit/webkit.css")


def test_a_redirect_from_the_pages_reaches_the_browser_unfollowed_with_its_cookie(make_gateway: GatewayFactory) -> None:
    from mai_chassis.testing import QuietHandler, serve_http

    class Redirecting(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(303)
            self.send_header("Location", "/sign-in")
            self.send_header("Set-Cookie", "lang=en; Path=/; HttpOnly")
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serve_http(Redirecting) as url:
        app = make_gateway([{"prefix": "/", "upstream": url, "service": "portal-svc"}])
        answer = app.test_client().get("/language/en?next=/sign-in")

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sign-in"
    assert answer.headers["Set-Cookie"] == "lang=en; Path=/; HttpOnly"


@pytest.fixture
def console_upstream() -> FakeUpstream:
    upstream = FakeUpstream("console-svc").start()
    yield upstream
    upstream.stop()


def test_a_pages_route_takes_its_prefix_from_the_root_route_and_has_no_api_description(
    make_gateway: GatewayFactory, petition_upstream: FakeUpstream, portal_upstream: FakeUpstream, console_upstream
) -> None:
    gateway = make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/staff", "upstream": console_upstream.url, "service": "console-svc", "pages": True},
            {"prefix": "/", "upstream": portal_upstream.url, "service": "portal-svc"},
        ],
        defaults={"rate_limit": "1000/minute"},
    )
    client = gateway.test_client()

    assert client.get("/staff/petitions?view=new").json["path"] == "/staff/petitions?view=new"
    assert client.get("/staff").json["service"] == "console-svc"
    assert client.get("/staffing").json["service"] == "portal-svc"  # a prefix ends at a segment boundary
    document = client.get("/openapi.json").json
    assert "console-svc" not in document["x-gateway-upstreams"]
    assert console_upstream.requests_to("/openapi.json") == []
