"""The gateway's Flask application: its own pages, and the 404 problem of a path no route takes.

Routed requests are forwarded by :mod:`gateway.edge` on the event loop and never reach this
application; it serves what the gateway answers itself — health, readiness, metrics, the merged
OpenAPI document and its docs page, the event schemas — through :mod:`gateway.wsgi_bridge`. It
also holds, in ``app.extensions["gateway"]``, the route table file, the upstream sessions of the
readiness probes and the OpenAPI catalogue, which the edge shares.
"""

from __future__ import annotations

from flask import Flask, Response, request
from mai_chassis import Problem, create_service_app
from mai_chassis.metrics import labelled, method_label
from werkzeug.middleware.proxy_fix import ProxyFix

from .browser_policy import install_browser_policy
from .config import Settings
from .docs import docs_blueprint
from .front_ends import TrustedFrontEnds, parse_networks
from .metrics import GATEWAY_REQUESTS
from .openapi import OpenApiCatalogue
from .proxy import Upstreams
from .readiness import UpstreamHealth
from .routes import RouteTableFile
from .schemas import schemas_blueprint

__all__ = ["build_app"]

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_app(settings: Settings) -> Flask:
    # No /static of its own: such paths belong to the web pages behind the root route.
    app = create_service_app(settings, import_name=__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = None  # the bridge reads at most its own limit
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

    @app.after_request
    def _count(response: Response) -> Response:
        if request.endpoint == "proxy":
            labelled(GATEWAY_REQUESTS, "unrouted", method_label(request.method), str(response.status_code)).inc()
        return response

    def proxy(path: str) -> Response:
        # Routed paths never reach Flask: gateway.edge forwards them. What is left is a 404.
        raise Problem(404, "No public API is served at this path.", kind="not-found")

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
