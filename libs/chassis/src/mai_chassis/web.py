"""The Flask side of the chassis: app wiring, request ids, RED metrics, health, strict JSON input."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import RAISE, Schema, ValidationError

from .auth import TokenVerifier, init_auth
from .clock import Clock
from .config import ConfigurationError, ServiceSettings
from .db import Database, SqlUnitOfWork
from .logs import configure_logging, request_id_var, traceparent_var
from .metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    CallbackGauge,
    labelled,
    method_label,
    register_collector,
    render_metrics,
)
from .problems import Problem, ProblemTable, register_error_handlers, register_problem_table

__all__ = [
    "REQUEST_ID_HEADER",
    "ReadinessCheck",
    "broker_reachable",
    "create_service_app",
    "load_json",
    "new_traceparent",
    "reading_unit_of_work",
    "reject_unstorable_text",
    "request_ids",
    "unit_of_work",
    "verifier_from_settings",
]

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT_SHAPE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")

ReadinessCheck = Callable[[], None]

#: Routes left out of the request metrics (the probes and the scrape itself).
_UNMEASURED_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
#: How many labelled series the request metrics keep at hand (:func:`.metrics.labelled`); past this
#: (many routes times statuses) the series are looked up each time.
_MAX_KEPT_SERIES = 256

_Proxied = TypeVar("_Proxied")


def _bound(proxy: _Proxied) -> _Proxied:
    """The object behind one of Flask's context proxies (``request``, ``g``, ``current_app``): each
    attribute read through a proxy looks the object up again, so a function that reads several binds it once."""
    return proxy._get_current_object()  # type: ignore[attr-defined,no-any-return]


def new_traceparent() -> str:
    # A 16-byte trace id and an 8-byte span id from one call for random bytes (one system call).
    return _traceparent(os.urandom(24).hex())


def _traceparent(ids: str) -> str:
    return f"00-{ids[:32]}-{ids[32:48]}-01"


def _child_traceparent(parent: str, span_id: str) -> str:
    """Same trace, a new span id for this service's work."""
    _version, trace_id, _span, flags = parent.split("-")
    return f"00-{trace_id}-{span_id}-{flags}"


def _uuid4_text(random_bytes: bytes) -> str:
    """The text of a version-4 UUID made of 16 random bytes: what ``str(uuid.uuid4())`` gives, without
    its integer conversions (a new request id per request is on every service's hot path)."""
    raw = bytearray(random_bytes)
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def request_ids(incoming_request_id: str, incoming_traceparent: str) -> tuple[str, str]:
    """This request's id and trace context: the client's id when it is well formed (else a new
    one), and a new span in the client's trace (else a new trace). The random bytes for both come
    from one system call."""
    keep_id = _REQUEST_ID_SHAPE.match(incoming_request_id) is not None
    in_trace = _TRACEPARENT_SHAPE.match(incoming_traceparent) is not None
    random_bytes = os.urandom((0 if keep_id else 16) + (8 if in_trace else 24))
    request_id = incoming_request_id if keep_id else _uuid4_text(random_bytes[:16])
    ids = random_bytes[0 if keep_id else 16 :].hex()
    if in_trace:
        return request_id, _child_traceparent(incoming_traceparent, ids)
    return request_id, _traceparent(ids)


class _BrokerProbe:
    """Checks that a bootstrap broker accepts TCP connections; the answer is cached briefly."""

    def __init__(self, bootstrap_servers: str, ttl: float = 5.0) -> None:
        self.servers = [s.strip() for s in bootstrap_servers.split(",") if s.strip()]
        self.ttl = ttl
        self._checked_at = 0.0
        self._ok = False

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._checked_at > self.ttl:
            self._ok = any(self._connect(server) for server in self.servers)
            self._checked_at = now
        if not self._ok:
            raise ConnectionError("no Kafka bootstrap server reachable")

    @staticmethod
    def _connect(server: str) -> bool:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            return False


def broker_reachable(bootstrap_servers: str) -> ReadinessCheck:
    return _BrokerProbe(bootstrap_servers)


#: ``create_service_app``'s default: verify tokens with the JWKS URL the settings name, if any.
FROM_SETTINGS = object()


def verifier_from_settings(settings: ServiceSettings) -> TokenVerifier | None:
    """The token verifier ``JWT_JWKS_URL``/``JWT_ISSUER``/``JWT_AUDIENCE`` describe (None without a URL)."""
    if not settings.jwt_jwks_url:
        return None
    return TokenVerifier(jwks_url=settings.jwt_jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def create_service_app(
    settings: ServiceSettings,
    *,
    import_name: str,
    database: Database | None = None,
    token_verifier: TokenVerifier | object | None = FROM_SETTINGS,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    optional_readiness: Mapping[str, ReadinessCheck] | None = None,
    static_folder: str | None = "static",
    problems: ProblemTable | None = None,
    clock: Clock | None = None,
) -> Flask:
    """A Flask app with the chassis wired in; the service then registers its blueprints.

    ``readiness`` checks must pass for ``/readyz`` to answer 200. ``optional_readiness`` checks are
    reported but do not fail readiness — the broker is one for web processes, since the outbox
    keeps accepting citizens' requests while Kafka is away. ``static_folder=None``: no ``/static``
    route (the gateway, whose ``/static/...`` paths belong to the portal behind it).
    ``problems`` is the service's table from domain errors to problem types (``<pkg>/errors.py``);
    ``clock`` the clock of every :func:`unit_of_work` (the system clock unless a test fixes one).
    """
    configure_logging(settings.service_name, level=settings.log_level, json_format=settings.log_json)
    if database is not None and settings.is_production and not settings.request_fingerprint_key:
        # Idempotency records fingerprint requests with it; without it they would be unkeyed hashes.
        raise ConfigurationError(f"{settings.service_name} cannot start: REQUEST_FINGERPRINT_KEY is required")
    app = Flask(import_name, static_folder=static_folder)
    if settings.trusted_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind the gateway the peer is the gateway; the client is in X-Forwarded-For. Only the
        # configured number of hops is trusted, so a client cannot forge its own address.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.config["SERVICE_SETTINGS"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["mai_database"] = database
    app.extensions["mai_clock"] = clock
    if token_verifier is FROM_SETTINGS:
        token_verifier = verifier_from_settings(settings)
    assert token_verifier is None or isinstance(token_verifier, TokenVerifier)
    init_auth(app, token_verifier)
    register_error_handlers(app)
    register_problem_table(app, problems or {})

    required = dict(readiness or {})
    optional = dict(optional_readiness or {})
    if database is not None:
        required.setdefault("database", database.ping)
        from .outbox import pending_count

        register_collector(
            CallbackGauge(
                "outbox_pending_events",
                "Outbox events not yet published.",
                {"service": settings.service_name},
                lambda: pending_count(database),
            )
        )
    if settings.kafka_bootstrap_servers:
        optional.setdefault("broker", broker_reachable(settings.kafka_bootstrap_servers))

    service = settings.service_name

    def _measure(method: str, route: str, status: int, elapsed: float) -> None:
        labelled(HTTP_REQUESTS, service, method, route, str(status), keep=_MAX_KEPT_SERIES).inc()
        labelled(HTTP_LATENCY, service, method, route, keep=_MAX_KEPT_SERIES).observe(elapsed)

    @app.before_request
    def _start_request() -> None:
        context, headers = _bound(g), _bound(request).headers
        context.started = time.perf_counter()
        context.request_id, context.traceparent = request_ids(
            headers.get(REQUEST_ID_HEADER, ""), headers.get("traceparent", "")
        )
        context._ctx_tokens = (request_id_var.set(context.request_id), traceparent_var.set(context.traceparent))

    @app.after_request
    def _finish_request(response: Response) -> Response:
        context, current = _bound(g), _bound(request)
        headers = response.headers
        headers[REQUEST_ID_HEADER] = context.get("request_id", "")
        headers.setdefault("Cache-Control", "no-store")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        rule = current.url_rule
        route = rule.rule if rule is not None else "unmatched"
        status = response.status_code
        if route not in _UNMEASURED_ROUTES:
            elapsed = time.perf_counter() - context.get("started", time.perf_counter())
            _measure(method_label(current.method), route, status, elapsed)
        if status >= 500:
            logger.warning("%s %s -> %d", current.method, route, status)
        return response

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        tokens = g.pop("_ctx_tokens", None)
        if tokens:
            request_id_var.reset(tokens[0])
            traceparent_var.reset(tokens[1])

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        results: dict[str, str] = {}
        ready = True
        for name, check in {**required, **optional}.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {exc.__class__.__name__}"
                if name in required:
                    ready = False
        status = "ready" if ready else "not-ready"
        if ready and any(v != "ok" for v in results.values()):
            status = "degraded"
        return jsonify(status=status, service=service, checks=results), 200 if ready else 503

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    return app


def unit_of_work() -> SqlUnitOfWork:
    """A unit of work on the current app's database, as this service, continuing the request's trace.

    What views use: ``with unit_of_work() as uow: result = handler(uow, deps, command)``.
    """
    app = _bound(current_app)
    return _request_database(app, "unit_of_work").unit_of_work(**_request_scope(app))


def reading_unit_of_work() -> SqlUnitOfWork:
    """For a view whose handler only reads, with one statement: no transaction is opened (no BEGIN,
    no ROLLBACK round trips), and publishing or committing is refused."""
    app = _bound(current_app)
    return _request_database(app, "reading_unit_of_work").reading(**_request_scope(app))


def _request_database(app: Flask, caller: str) -> Database:
    database: Database | None = app.extensions.get("mai_database")
    if database is None:
        raise RuntimeError(f"{caller}() needs create_service_app(..., database=...)")
    return database


def _request_scope(app: Flask) -> dict[str, Any]:
    """A request's unit of work acts as this service, continues the request's trace, reads the app's clock."""
    return {
        "source": settings_of(app).service_name,
        "traceparent": g.get("traceparent"),
        "clock": app.extensions.get("mai_clock"),
    }


def load_json(schema: Schema | type[Schema], *, partial: bool = False) -> Any:
    """Parse the request body as JSON and validate it strictly (unknown fields are rejected).

    415 for a body that is not JSON, 400 for malformed JSON, 422 (via the error handler) for
    fields that fail validation.
    """
    current = _bound(request)
    if not current.is_json:
        raise Problem(415, "Send the body as application/json.", kind="unsupported-media-type")
    payload = current.get_json(silent=True)
    if payload is None:
        raise Problem(400, "The body is not valid JSON.", kind="malformed-json")
    reject_unstorable_text(payload)
    instance = schema() if isinstance(schema, type) else schema
    return instance.load(payload, unknown=RAISE, partial=partial)


def reject_unstorable_text(payload: Any) -> None:
    """Refuse (422, naming the field) strings no database or mail can hold.

    JSON may carry a NUL character or a lone UTF-16 surrogate (``"\\ud800"``); PostgreSQL text
    cannot store the first and UTF-8 cannot encode the second, so they are refused at the edge.
    """
    errors: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            if "\x00" in value:
                errors[path or "_schema"] = ["Must not contain a NUL character."]
            elif not value.isascii():  # ASCII text always encodes
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    errors[path or "_schema"] = ["Must be valid Unicode text (no lone surrogates)."]
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, path)
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}" if path else str(index))

    walk(payload, "")
    if errors:
        raise ValidationError(errors)


def settings_of(app: Flask | None = None) -> Any:
    """The settings object the app was created with."""
    return (app or current_app).config["SERVICE_SETTINGS"]
