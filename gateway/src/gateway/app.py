"""The gateway's Flask application: route lookup, method, rate and body checks, then the proxy call.

It holds no business rules. Per route (see :mod:`gateway.routes`) it checks the method, the
client's rate, and the body size, then streams the request to the upstream and its answer back,
with ``X-Request-ID``, ``traceparent`` and ``X-Forwarded-*`` set. Upstream failures become
502/503/504 problems (:mod:`gateway.proxy`). It also serves the merged OpenAPI document and docs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from urllib.parse import quote

from flask import Flask, Response, g, request
from mai_chassis import Problem, create_service_app
from mai_chassis.logs import bind_context
from werkzeug.middleware.proxy_fix import ProxyFix

from .browser_policy import install_browser_policy
from .config import Settings
from .docs import docs_blueprint
from .front_ends import TrustedFrontEnds, parse_networks
from .metrics import (
    BODY_TOO_LARGE,
    GATEWAY_LATENCY,
    GATEWAY_REQUESTS,
    RATE_LIMITED,
    UPSTREAM_FAILURES,
    UPSTREAM_LATENCY,
)
from .openapi import OpenApiCatalogue
from .proxy import (
    BodyStream,
    UpstreamError,
    Upstreams,
    forwarded_request_headers,
    returned_response_headers,
    stream_response_body,
)
from .rate_limits import Breach, RouteRateLimits
from .readiness import UpstreamHealth
from .routes import Route, RouteTableFile
from .schemas import schemas_blueprint

__all__ = ["build_app"]

logger = logging.getLogger(__name__)

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: Bodies up to this size are read at once (and can be retried); larger ones are streamed.
BUFFERED_BODY_BYTES = 256 * 1024
_PATH_SAFE_CHARACTERS = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE_CHARACTERS = _PATH_SAFE_CHARACTERS + "?%"


def build_app(settings: Settings) -> Flask:
    # No /static of its own: such paths belong to the web pages behind the root route.
    app = create_service_app(settings, import_name=__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = None  # each route has its own limit, enforced below
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    if settings.trusted_proxy_networks:
        # Outermost: a front end's request is resolved to its citizen before any hop counting.
        app.wsgi_app = TrustedFrontEnds(  # type: ignore[method-assign]
            app.wsgi_app, parse_networks(settings.trusted_proxy_networks)
        )

    route_file = RouteTableFile(settings.routes_file, check_interval=settings.routes_check_seconds)
    upstreams = Upstreams(pool_size=settings.upstream_pool_size)
    health = UpstreamHealth(
        lambda: route_file.table,
        session_for=upstreams.session,
        cache_seconds=settings.readiness_cache_seconds,
        policy=settings.readiness_policy,
    )
    catalogue = OpenApiCatalogue(
        lambda: route_file.table,
        session_for=upstreams.session,
        refresh_seconds=settings.openapi_refresh_seconds,
        server_url=settings.public_base_url,
    )
    app.extensions["gateway"] = {"routes": route_file, "upstreams": upstreams, "health": health, "openapi": catalogue}

    install_browser_policy(app, allowed_origins=settings.cors_allowed_origins)
    app.view_functions["readyz"] = health.view
    app.register_blueprint(docs_blueprint(catalogue))
    app.register_blueprint(schemas_blueprint())

    @app.before_request
    def _find_route() -> None:
        if request.endpoint == "proxy":
            g.gateway_route = route_file.table.match(request.path)

    rate_limits = RouteRateLimits(settings.ratelimit_storage_uri)

    @app.after_request
    def _count(response: Response) -> Response:
        if request.endpoint != "proxy":
            return response
        route: Route | None = g.get("gateway_route")
        label = route.prefix if route else "unrouted"
        GATEWAY_REQUESTS.labels(label, request.method, str(response.status_code)).inc()
        GATEWAY_LATENCY.labels(label, request.method).observe(time.perf_counter() - g.started)
        return response

    def proxy(path: str) -> Response:
        route: Route | None = g.get("gateway_route")
        if route is None:
            raise Problem(404, "No public API is served at this path.", kind="not-found")
        breach = rate_limits.hit(route.rate_limit, route.prefix, _client_address())
        if breach is not None:
            RATE_LIMITED.labels(route.prefix).inc()
            raise _rate_limited(route, breach)
        _check_path(request.path)
        if request.method not in route.methods and not (request.method == "HEAD" and "GET" in route.methods):
            raise Problem(
                405,
                f"{request.method} is not allowed on {route.prefix}.",
                kind="method-not-allowed",
                headers={"Allow": ", ".join(sorted(route.methods))},
            )
        body = _request_body(route)
        target = quote(request.path, safe=_PATH_SAFE_CHARACTERS)
        if request.query_string:
            target += "?" + quote(request.query_string, safe=_QUERY_SAFE_CHARACTERS)
        headers = forwarded_request_headers(
            request.headers.items(),
            client_address=request.remote_addr or "",
            scheme=request.scheme,
            host=request.host,
            request_id=g.request_id,
            traceparent=g.traceparent,
        )
        sent_at = time.perf_counter()
        try:
            upstream = upstreams.send(route, request.method, target, headers=headers, body=body)
        except UpstreamError as failure:
            UPSTREAM_FAILURES.labels(route.prefix, route.service, failure.failure).inc()
            logger.warning(
                "%s %s: upstream %s failed (%s)", request.method, route.prefix, route.service, failure.failure
            )
            raise Problem(
                failure.status,
                failure.detail,
                kind=f"upstream-{failure.failure.replace('_', '-')}",
                headers={"Retry-After": "5"} if failure.status == 503 else None,
            ) from None
        waited = time.perf_counter() - sent_at
        UPSTREAM_LATENCY.labels(route.prefix, route.service).observe(waited)
        logger.info(
            "%s %s -> %d from %s in %.1f ms",
            request.method,
            route.prefix,
            upstream.status,
            route.service,
            waited * 1000,
        )
        try:
            body_out = upstreams.small_body(upstream, route)
        except UpstreamError as failure:
            UPSTREAM_FAILURES.labels(route.prefix, route.service, failure.failure).inc()
            raise Problem(
                failure.status, failure.detail, kind=f"upstream-{failure.failure.replace('_', '-')}"
            ) from None
        response = Response(
            body_out
            if body_out is not None
            else _bound(stream_response_body(upstream, service=route.service), g.request_id, g.traceparent),
            status=upstream.status,
            headers=returned_response_headers(upstream),
            direct_passthrough=True,
        )
        if "Content-Type" not in upstream.headers:
            del response.headers["Content-Type"]
        return response

    app.add_url_rule(
        "/<path:path>", endpoint="proxy", view_func=proxy, methods=PROXY_METHODS, provide_automatic_options=False
    )
    # The site's root page, for a root route (the portal); without one it is a 404 problem.
    app.add_url_rule(
        "/",
        endpoint="proxy",
        view_func=proxy,
        defaults={"path": ""},
        methods=PROXY_METHODS,
        provide_automatic_options=False,
    )
    return app


def _rate_limited(route: Route, breach: Breach) -> Problem:
    wait = breach.retry_after
    return Problem(
        429,
        f"Too many requests to {route.prefix} from your address (at most {breach.limit}). Try again in {wait} s.",
        kind="rate-limited",
        headers={"Retry-After": str(wait)},
        retry_after=wait,
    )


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _check_path(path: str) -> None:
    segments = path.split("/")
    if "." in segments or ".." in segments:
        raise Problem(400, "The path must not contain '.' or '..' segments.", kind="invalid-path")


def _request_body(route: Route) -> bytes | BodyStream | None:
    """The body to send on, refused with 413 before the upstream is called when it is over the limit."""
    length = request.content_length
    if length is not None:
        if length > route.max_body_bytes:
            BODY_TOO_LARGE.labels(route.prefix).inc()
            raise _body_too_large(route)
        if length == 0:
            return b"" if request.method in ("POST", "PUT", "PATCH") else None
        if length <= BUFFERED_BODY_BYTES:
            return request.stream.read(length)
        return BodyStream(request.stream, length)
    if not request.environ.get("wsgi.input_terminated"):
        return None  # no Content-Length and not chunked: no body
    # Chunked upload of unknown size: read at most one byte over the limit to decide.
    data = request.stream.read(route.max_body_bytes + 1)
    if len(data) > route.max_body_bytes:
        BODY_TOO_LARGE.labels(route.prefix).inc()
        raise _body_too_large(route)
    return data


def _body_too_large(route: Route) -> Problem:
    # Made only when needed: building a problem on every request showed in the gateway's profile.
    return Problem(
        413,
        f"The request body is larger than the {route.max_body_bytes} bytes {route.prefix} accepts.",
        kind="body-too-large",
        max_body_bytes=route.max_body_bytes,
    )


def _bound(chunks: Iterator[bytes], request_id: str, traceparent: str) -> Iterator[bytes]:
    """The response body, with the request's ids bound for what is logged while it streams."""
    with bind_context(request_id=request_id, traceparent=traceparent):
        yield from chunks
