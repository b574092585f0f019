"""The route table: public path prefixes mapped to upstream services, read from a YAML file.

The file (``GATEWAY_ROUTES_FILE``) looks like::

    defaults:                       # optional; every key may also be set per route
      connect_timeout_seconds: 1
      timeout_seconds: 10           # waiting for the upstream's answer (read timeout)
      max_body_bytes: 65536
      rate_limit: 60/minute         # per client address, per route
      methods: [GET, HEAD, POST, PUT, PATCH, DELETE]
    routes:
      - prefix: /api/v1/petitions
        upstream: http://petition-svc
        service: petition-svc       # optional; a name for metrics, logs and docs (else the host)
        rate_limit: 30/minute
      - prefix: /staff
        upstream: http://console-svc
        pages: true                 # web pages (the staff console): no API description to merge

The longest prefix matching on a path-segment boundary wins. The root prefix ``/`` is the
catch-all for web pages (the citizen portal): it takes every path no other route takes, except
the API's (``/api`` and below: an unknown API path stays a 404 problem) and the gateway's own
(``/healthz``, ``/docs`` ...). Nothing under ``/internal`` is ever routed, and the table is
re-read when the file changes (:class:`RouteTableFile`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from limits import parse as parse_rate_limit
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from .metrics import ROUTE_RELOADS

__all__ = [
    "INTERNAL_PREFIX",
    "ROOT_PREFIX",
    "Route",
    "RouteTable",
    "RouteTableError",
    "RouteTableFile",
    "load_route_table",
]

logger = logging.getLogger(__name__)

INTERNAL_PREFIX = "/internal"
ROOT_PREFIX = "/"
#: Never given to the root route: an unknown API path is the gateway's 404, not a web page.
API_PREFIX = "/api"
#: Paths the gateway answers itself; a route cannot take them over.
GATEWAY_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

DEFAULT_CONNECT_TIMEOUT_SECONDS = 1.0
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_RATE_LIMIT = "60/minute"


class RouteTableError(ValueError):
    """The route file cannot be read or does not describe a valid route table."""


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    service: str
    connect_timeout_seconds: float
    timeout_seconds: float
    max_body_bytes: int
    rate_limit: str
    methods: frozenset[str]
    #: The route carries web pages under its prefix (a front end), not API operations.
    pages: bool = False

    def matches(self, path: str) -> bool:
        if self.prefix == ROOT_PREFIX:
            return not _is_under(path, API_PREFIX) and not any(_is_under(path, own) for own in GATEWAY_PATHS)
        return _is_under(path, self.prefix)

    @property
    def serves_api(self) -> bool:
        """Whether the route carries API operations (the root route and ``pages`` routes carry web pages)."""
        return self.prefix != ROOT_PREFIX and not self.pages

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) as ``requests`` takes them."""
        return (self.connect_timeout_seconds, self.timeout_seconds)


class RouteTable:
    """Routes sorted so that the longest prefix is tried first."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=lambda route: len(route.prefix), reverse=True)

    def match(self, path: str) -> Route | None:
        if path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/"):
            return None
        for route in self.routes:
            if route.matches(path):
                return route
        return None

    def upstreams(self, *, api_only: bool = False) -> dict[str, str]:
        """Service name -> upstream base URL, one entry per upstream (``api_only``: those with API routes)."""
        return {
            route.service: route.upstream
            for route in sorted(self.routes, key=lambda r: r.prefix)
            if route.serves_api or not api_only
        }

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _valid_rate_limit(value: str) -> None:
    try:
        parse_rate_limit(value)
    except ValueError:
        raise ValidationError(f"not a rate limit such as '30/minute': {value!r}") from None


class _RouteSettingsSchema(Schema):
    connect_timeout_seconds = fields.Float(validate=validate.Range(min=0.05, max=30))
    timeout_seconds = fields.Float(validate=validate.Range(min=0.05, max=300))
    max_body_bytes = fields.Integer(validate=validate.Range(min=0))
    rate_limit = fields.String(validate=_valid_rate_limit)
    methods = fields.List(fields.String(validate=validate.OneOf(STANDARD_METHODS)), validate=validate.Length(min=1))


class _RouteSchema(_RouteSettingsSchema):
    prefix = fields.String(required=True, validate=validate.Regexp(r"^/[A-Za-z0-9._~/-]*$"))
    upstream = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    service = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9._:-]{1,64}$"))
    pages = fields.Boolean(load_default=False)

    @validates("prefix")
    def _public_prefix(self, value: str, **_kwargs: Any) -> None:
        if value == INTERNAL_PREFIX or value.startswith(INTERNAL_PREFIX + "/"):
            raise ValidationError("internal paths are never routed")
        if value == ROOT_PREFIX:
            return  # the catch-all for web pages
        if "/./" in value + "/" or "/../" in value + "/" or "//" in value:
            raise ValidationError("a prefix must not contain empty or dot segments")
        if any(value == own or value.startswith(own + "/") for own in GATEWAY_PATHS):
            raise ValidationError(f"{value} is answered by the gateway itself")


class _RouteFileSchema(Schema):
    defaults = fields.Nested(_RouteSettingsSchema, load_default=dict)
    routes = fields.List(fields.Nested(_RouteSchema), required=True, validate=validate.Length(min=1))

    @post_load
    def _build(self, data: dict[str, Any], **_kwargs: Any) -> RouteTable:
        defaults = data["defaults"]
        routes: list[Route] = []
        seen: set[str] = set()
        for entry in data["routes"]:
            merged = {**defaults, **entry}
            prefix = merged["prefix"].rstrip("/") or merged["prefix"]
            if prefix in seen:
                raise ValidationError(f"prefix {prefix} appears twice", "routes")
            seen.add(prefix)
            upstream = merged["upstream"].rstrip("/")
            routes.append(
                Route(
                    prefix=prefix,
                    upstream=upstream,
                    service=merged.get("service") or urlsplit(upstream).netloc,
                    connect_timeout_seconds=merged.get("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT_SECONDS),
                    timeout_seconds=merged.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
                    max_body_bytes=merged.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
                    rate_limit=merged.get("rate_limit", DEFAULT_RATE_LIMIT),
                    methods=frozenset(merged.get("methods", STANDARD_METHODS)),
                    pages=bool(merged.get("pages", False)),
                )
            )
        return RouteTable(routes)


def load_route_table(path: str | Path) -> RouteTable:
    """Read and validate a route file; :class:`RouteTableError` says what is wrong with it."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RouteTableError(f"cannot read the route file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise RouteTableError(f"the route file {path} must be a mapping with 'routes'")
    try:
        table: RouteTable = _RouteFileSchema().load(document, unknown=RAISE)
    except ValidationError as exc:
        raise RouteTableError(f"invalid route file {path}: {exc.messages}") from None
    return table


class RouteTableFile:
    """The current route table, re-read when the file changes (checked at most every ``check_interval`` s).

    A change that does not validate is logged and ignored: the gateway keeps the last good table.
    Kubernetes swaps a mounted ConfigMap through a symlink; ``stat`` follows it, so that is seen too.
    """

    def __init__(self, path: str | Path, *, check_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._table = load_route_table(self.path)  # at startup a bad file is fatal
        self._checked_at = time.monotonic()
        self.loaded_at = time.time()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return (status.st_mtime_ns, status.st_size, status.st_ino)

    @property
    def table(self) -> RouteTable:
        if time.monotonic() - self._checked_at >= self.check_interval:
            self._reload_if_changed()
        return self._table

    def _reload_if_changed(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is checking; use the current table meanwhile
        try:
            self._checked_at = time.monotonic()
            signature = self._stat()
            if signature is None or signature == self._signature:
                return
            try:
                table = load_route_table(self.path)
            except RouteTableError as exc:
                logger.error("route file changed but is invalid; keeping the previous table: %s", exc)
                ROUTE_RELOADS.labels("rejected").inc()
                self._signature = signature
                return
            self._table, self._signature, self.loaded_at = table, signature, time.time()
            ROUTE_RELOADS.labels("loaded").inc()
            logger.info("route table reloaded: %d routes", len(table))
        finally:
            self._lock.release()
