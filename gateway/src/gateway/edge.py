"""The gateway's server application: aiohttp on an event loop, forwarding routed requests itself.

A path the route table gives to a service is forwarded by this module (:meth:`EdgeGateway.forward`),
on the event loop, with the gateway's own upstream client (:mod:`gateway.upstream_client`: kept-alive
connections, answers parsed by llhttp): the route's method, rate and body checks, ``X-Request-ID``,
``traceparent`` and ``X-Forwarded-*``, the browser policy, metrics and one log line. Plain routed
requests come from the lean lane of :mod:`gateway.edge_server`, which parses and answers them
itself; the rest come through aiohttp's server to :meth:`EdgeGateway.handle`. Everything else —
the gateway's own pages (``/healthz``, ``/readyz``, ``/metrics``, ``/openapi.json``, ``/docs``,
``/events/...``) and the 404 problem of an unrouted path — is answered by the Flask application of
:mod:`gateway.app`, called in a thread (:mod:`gateway.wsgi_bridge`), so those pages keep the
chassis' behaviour.

Why not Flask for the forwarding too: under ``gateway_overhead`` the Flask gateway (gunicorn's Python
parser, WSGI, Flask's contexts and hooks, ``urllib3``'s round trip) cost about 1 ms of CPU per
proxied request, more than the "hello" service behind it; see ``bench/README.md``.

Failures the citizen sees, as problem+json and never after more than the route's timeouts::

    upstream refuses the connection, or cannot be reached in time  -> 503 upstream-unavailable
    upstream accepted but did not answer within the read timeout   -> 504 upstream-timeout
    upstream answered with something that is not HTTP, or reset    -> 502 bad-gateway

Idempotent methods whose body can be sent again get one quick retry on a connection failure; a
timeout is never retried (the route's time budget is already spent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import quote, unquote

from aiohttp import web
from flask import Flask
from mai_chassis import Problem
from mai_chassis.logs import request_id_var, traceparent_var
from mai_chassis.metrics import labelled, method_label
from mai_chassis.problems import PROBLEM_JSON, problem_document
from mai_chassis.web import REQUEST_ID_HEADER, request_ids
from multidict import CIMultiDict, MultiMapping

from .browser_policy import BrowserPolicy
from .config import Settings
from .front_ends import parse_networks, resolve_client
from .metrics import (
    BODY_TOO_LARGE,
    GATEWAY_LATENCY,
    GATEWAY_REQUESTS,
    RATE_LIMITED,
    UPSTREAM_FAILURES,
    UPSTREAM_LATENCY,
)
from .proxy import DROPPED_RESPONSE_HEADERS, HOP_BY_HOP_HEADERS, forwarded_request_headers
from .rate_limits import Breach, RouteRateLimits
from .routes import IDEMPOTENT_METHODS, Route, RouteTableFile
from .upstream_client import Upstream, UpstreamAnswer, UpstreamClient, UpstreamFailure
from .wsgi_bridge import call_wsgi, own_paths

__all__ = [
    "GATEWAY",
    "NO_BODY_STATUSES",
    "EdgeGateway",
    "ForwardedRequest",
    "StreamedAnswer",
    "build_server_app",
    "problem_response",
]

#: The per-request line is written under this name, as the Flask gateway wrote it.
logger = logging.getLogger("gateway.app")

#: Bodies up to this size are read at once (and can be retried); larger ones are streamed.
BUFFERED_BODY_BYTES = 256 * 1024
#: Upstream answers up to this size (announced by Content-Length) are read whole, larger ones streamed.
SMALL_BODY_BYTES = 256 * 1024
STREAM_CHUNK_BYTES = 64 * 1024
RETRY_PAUSE_SECONDS = 0.05
#: Idle upstream connections are closed before the services' own keep-alive (5 s) would close them,
#: so a request is not sent on a connection the upstream is about to drop.
UPSTREAM_KEEPALIVE_SECONDS = 4.0
#: Threads for the gateway's own pages.
OWN_PAGE_THREADS = 8
_PATH_SAFE_CHARACTERS = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE_CHARACTERS = _PATH_SAFE_CHARACTERS + "?%"
#: Answers that never have a body, whatever their headers say (RFC 9110, 15.3.5 and 15.4.5).
NO_BODY_STATUSES = frozenset({204, 304})
#: What an answer never carries from its upstream: its length too when the gateway frames the body anew.
_DROPPED_WITH_LENGTH = HOP_BY_HOP_HEADERS | DROPPED_RESPONSE_HEADERS
_DROPPED_WITHOUT_LENGTH = _DROPPED_WITH_LENGTH | {"content-length"}
_SERVER = "gateway"


class RequestBody(Protocol):
    async def read(self, n: int = -1) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


class ForwardedRequest(Protocol):
    """What forwarding reads of a request: aiohttp's :class:`web.Request`, or the fast lane's
    :class:`gateway.edge_server.FastRequest`."""

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> MultiMapping[str]: ...

    @property
    def remote(self) -> str | None: ...

    @property
    def scheme(self) -> str: ...

    @property
    def content_length(self) -> int | None: ...

    @property
    def content(self) -> RequestBody: ...


class _Failure(Exception):
    def __init__(self, status: int, failure: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.failure, self.detail = status, failure, detail


class EdgeGateway:
    """The per-process state: route table, upstream client, rate limits, and the own-pages app."""

    def __init__(self, settings: Settings, pages: Flask) -> None:
        self.settings = settings
        self.pages = pages
        extension = pages.extensions["gateway"]
        self.route_file: RouteTableFile = extension["routes"]
        self.rate_limits = RouteRateLimits(settings.ratelimit_storage_uri)
        self.policy = BrowserPolicy(settings.cors_allowed_origins)
        self.front_ends = parse_networks(settings.trusted_proxy_networks)
        self.own_exact, self.own_prefixes = own_paths(pages)
        self.executor = ThreadPoolExecutor(max_workers=OWN_PAGE_THREADS, thread_name_prefix="gateway-pages")
        self.client: UpstreamClient | None = None
        self._upstream_cache: dict[Route, Upstream] = {}

    async def start(self, _app: web.Application | None = None) -> None:
        # No cap on connections in flight: a slow upstream must not hold the others' requests.
        self.client = UpstreamClient(keepalive_seconds=UPSTREAM_KEEPALIVE_SECONDS)

    async def stop(self, _app: web.Application | None = None) -> None:
        if self.client is not None:
            await self.client.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.pages.extensions["gateway"]["upstreams"].close()

    # -- the request --------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A request aiohttp parsed: the gateway's own pages, preflights, and what the fast lane handed on."""
        raw_path, _, query = request.raw_path.partition("?")
        path = unquote(raw_path, errors="replace")
        headers = request.headers
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in headers
        route = None if preflight else self.route_for(path)
        if route is None and not preflight:
            return await call_wsgi(self.pages, request, self.executor, remote=request.remote or "")
        if route is None:  # a preflight, answered here for every path: it never reaches an upstream
            request_id, _ = request_ids(headers.get(REQUEST_ID_HEADER, ""), headers.get("traceparent", ""))
            answer = web.Response(status=204, headers=self.policy.preflight(headers.get("Origin", "")))
            self._finish(answer, request_id, headers.get("Origin", ""))
            return answer
        response = await self.forward(request, route, path, query)
        if isinstance(response, StreamedAnswer):
            await response.send(request)
        return response

    def route_for(self, path: str) -> Route | None:
        """The route that takes ``path`` (decoded), or None for the gateway's own pages and unrouted paths."""
        return None if self._own(path) else self.route_file.table.match(path)

    async def forward(self, request: ForwardedRequest, route: Route, path: str, query: str) -> web.StreamResponse:
        """Send ``request`` to its route's upstream; the answer (or the problem) with the gateway's headers.

        A large answer comes back as a :class:`StreamedAnswer` not yet sent: the caller sends it, on
        aiohttp's connection (:meth:`handle`) or the fast lane's (:mod:`gateway.edge_server`).
        """
        started = time.perf_counter()
        headers = request.headers
        request_id, traceparent = request_ids(headers.get(REQUEST_ID_HEADER, ""), headers.get("traceparent", ""))
        tokens = (request_id_var.set(request_id), traceparent_var.set(traceparent))
        try:
            try:
                response = await self._forward(request, route, path, query, request_id, traceparent)
            except _Failure as failure:
                UPSTREAM_FAILURES.labels(route.prefix, route.service, failure.failure).inc()
                logger.warning(
                    "%s %s: upstream %s failed (%s)", request.method, route.prefix, route.service, failure.failure
                )
                response = problem_response(
                    Problem(
                        failure.status,
                        failure.detail,
                        kind=f"upstream-{failure.failure.replace('_', '-')}",
                        headers={"Retry-After": "5"} if failure.status == 503 else None,
                    ),
                    path,
                    request_id,
                )
            except Problem as problem:
                response = problem_response(problem, path, request_id)
            self._finish(response, request_id, headers.get("Origin", ""))
            method = method_label(request.method)
            labelled(GATEWAY_REQUESTS, route.prefix, method, str(response.status)).inc()
            labelled(GATEWAY_LATENCY, route.prefix, method).observe(time.perf_counter() - started)
            return response
        finally:
            request_id_var.reset(tokens[0])
            traceparent_var.reset(tokens[1])

    def _own(self, path: str) -> bool:
        return path in self.own_exact or path.startswith(self.own_prefixes)

    def _finish(self, response: web.StreamResponse, request_id: str, origin: str) -> None:
        out = response.headers
        out[REQUEST_ID_HEADER] = request_id
        out.setdefault("Cache-Control", "no-store")
        out["Server"] = _SERVER
        self.policy.apply(out, origin)

    async def _forward(
        self, request: ForwardedRequest, route: Route, path: str, query: str, request_id: str, traceparent: str
    ) -> web.StreamResponse:
        client, scheme, host = resolve_client(request, self.front_ends, self.settings.trusted_proxies)
        breach = await self.rate_limits.hit_async(route.rate_limit, route.prefix, client)
        if breach is not None:
            RATE_LIMITED.labels(route.prefix).inc()
            raise _rate_limited(route, breach)
        segments = path.split("/")
        if "." in segments or ".." in segments:
            raise Problem(400, "The path must not contain '.' or '..' segments.", kind="invalid-path")
        method = request.method
        if method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            raise Problem(
                405,
                f"{method} is not allowed on {route.prefix}.",
                kind="method-not-allowed",
                headers={"Allow": ", ".join(sorted(route.methods))},
            )
        body = await _request_body(request, route)
        target = quote(path, safe=_PATH_SAFE_CHARACTERS)
        if query:
            target += "?" + quote(query, safe=_QUERY_SAFE_CHARACTERS)
        forwarded = forwarded_request_headers(
            request.headers.items(),
            client_address=client,
            scheme=scheme,
            host=host,
            request_id=request_id,
            traceparent=traceparent,
        )
        sent_at = time.perf_counter()
        upstream = await self._send(route, method, target, forwarded, body)
        waited = time.perf_counter() - sent_at
        labelled(UPSTREAM_LATENCY, route.prefix, route.service).observe(waited)
        # Refusals and failures at INFO; a successful answer only at DEBUG: at the gateway's rate its
        # line cost about a twelfth of a request's CPU, and the route's metrics count it anyway.
        level = logging.INFO if upstream.status >= 400 else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s %s -> %d from %s in %.1f ms",
                method,
                route.prefix,
                upstream.status,
                route.service,
                waited * 1000,
            )
        return await _answer(upstream, route, head=method == "HEAD")

    def _upstream_of(self, route: Route) -> Upstream:
        """The route's upstream, parsed once per route."""
        found = self._upstream_cache.get(route)
        if found is None:
            found = self._upstream_cache[route] = Upstream(route.upstream)
        return found

    async def _send(
        self, route: Route, method: str, target: str, headers: dict[str, str], body: bytes | _BodyStream | None
    ) -> UpstreamAnswer:
        assert self.client is not None, "the gateway was not started"
        replayable = not isinstance(body, _BodyStream)
        attempts = 2 if method in IDEMPOTENT_METHODS and replayable else 1
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = self._upstream_of(route)
        for attempt in range(1, attempts + 1):
            try:
                return await self.client.request(
                    upstream,
                    method,
                    target,  # already encoded (quoted by _forward)
                    headers.items(),
                    body.chunks() if isinstance(body, _BodyStream) else body,
                    connect_timeout=route.connect_timeout_seconds,
                    read_timeout=route.timeout_seconds,
                )
            except ValueError:
                raise Problem(400, "A request header cannot be sent on.", kind="invalid-header") from None
            except UpstreamFailure as exc:
                failure = _classify(exc, route)
                if attempt < attempts and failure.status != 504:
                    logger.info("retrying %s to %s after %s", method, route.service, failure.failure)
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise failure from None
        raise AssertionError("unreachable")


class _BodyStream:
    """A request body of known length sent on as it arrives, without being held in memory."""

    def __init__(self, request: ForwardedRequest, length: int) -> None:
        self.request, self.length = request, length

    def __len__(self) -> int:
        return self.length

    async def chunks(self) -> AsyncIterator[bytes]:
        remaining = self.length
        while remaining > 0:
            chunk = await self.request.content.read(min(STREAM_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


async def _request_body(request: ForwardedRequest, route: Route) -> bytes | _BodyStream | None:
    """The body to send on, refused with 413 before the upstream is called when it is over the limit."""
    length = request.content_length
    if length is not None:
        if length > route.max_body_bytes:
            BODY_TOO_LARGE.labels(route.prefix).inc()
            raise _body_too_large(route)
        if length == 0:
            return b"" if request.method in ("POST", "PUT", "PATCH") else None
        if length <= BUFFERED_BODY_BYTES:
            return await request.content.readexactly(length)
        return _BodyStream(request, length)
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return None  # no Content-Length and not chunked: no body
    # Chunked upload of unknown size: read at most one byte over the limit to decide.
    data = bytearray()
    while len(data) <= route.max_body_bytes:
        chunk = await request.content.read(route.max_body_bytes + 1 - len(data))
        if not chunk:
            break
        data += chunk
    if len(data) > route.max_body_bytes:
        BODY_TOO_LARGE.labels(route.prefix).inc()
        raise _body_too_large(route)
    return bytes(data)


def _returned_headers(upstream: UpstreamAnswer) -> CIMultiDict[str]:
    """The upstream's headers decoded, a repeated header (Set-Cookie) kept as its own line."""
    return CIMultiDict([(name.decode("latin-1"), value.decode("latin-1")) for name, value in upstream.raw_headers])


def _end_to_end(headers: CIMultiDict[str], *, keep_length: bool) -> CIMultiDict[str]:
    """``headers`` without the hop-by-hop ones (and those the upstream's Connection names), nor the
    gateway's own; without Content-Length too unless ``keep_length`` (aiohttp frames the body anew)."""
    connection = headers.get("Connection")
    present = {name.lower() for name in headers}
    for name in present & (_DROPPED_WITH_LENGTH if keep_length else _DROPPED_WITHOUT_LENGTH):
        headers.popall(name, None)
    if connection:
        for token in connection.split(","):
            headers.popall(token.strip(), None)
    return headers


class StreamedAnswer(web.StreamResponse):
    """A large or open-ended upstream answer, sent on as it arrives once the headers are final."""

    def __init__(self, upstream: UpstreamAnswer, route: Route, headers: CIMultiDict[str]) -> None:
        super().__init__(status=upstream.status, headers=headers)
        self.upstream, self.route = upstream, route

    async def relay(self, start: Awaitable[object], write: Callable[[bytes], Awaitable[object]]) -> bool:
        """``start`` the answer (its status line and headers), then ``write`` the upstream's body on as it
        arrives; False when either side broke off, and the connection must then be cut."""
        completed = False
        try:
            await start
            async for chunk in self.upstream.chunks():
                await write(chunk)
            completed = True
        except (UpstreamFailure, OSError) as exc:
            # The status line is already sent: all that can be done is to cut the response short.
            logger.warning("%s broke off its response: %s", self.route.service, exc.__class__.__name__)
        finally:
            self.upstream.release() if completed else self.upstream.close()
        return completed

    async def send(self, request: web.Request) -> None:
        """Send the answer on aiohttp's connection."""
        if await self.relay(self.prepare(request), self.write):
            await self.write_eof()
        elif request.transport is not None:
            request.transport.close()


async def _answer(upstream: UpstreamAnswer, route: Route, *, head: bool) -> web.StreamResponse:
    headers = _returned_headers(upstream)
    length = headers.get("Content-Length", "")
    if head or upstream.status in NO_BODY_STATUSES or (length.isdigit() and int(length) <= SMALL_BODY_BYTES):
        try:
            body = b"" if head else await upstream.read()
        except UpstreamFailure as exc:
            upstream.close()
            if exc.kind == "timeout":
                raise _classify(exc, route) from None
            raise _Failure(502, "bad_gateway", f"The {route.service} service broke off its answer.") from None
        upstream.release()
        if head:
            return web.Response(status=upstream.status, headers=_end_to_end(headers, keep_length=True))
        return web.Response(status=upstream.status, body=body, headers=_end_to_end(headers, keep_length=False))
    return StreamedAnswer(upstream, route, _end_to_end(headers, keep_length=True))


def _classify(exc: UpstreamFailure, route: Route) -> _Failure:
    service = route.service
    if exc.kind == "unavailable":
        return _Failure(
            503, "unavailable", f"The {service} service is unavailable right now; nothing was done. Try again shortly."
        )
    if exc.kind == "timeout":
        return _Failure(504, "timeout", f"The {service} service did not answer within {route.timeout_seconds:g} s.")
    return _Failure(502, "bad_gateway", f"The {service} service gave an invalid answer.")


def problem_response(problem: Problem, path: str, request_id: str) -> web.Response:
    """The problem+json answer, with the members the chassis gives every problem (instance, request id)."""
    body = problem_document(problem, instance=path, request_id=request_id)
    headers = CIMultiDict(problem.headers)
    headers["Content-Type"] = PROBLEM_JSON
    return web.Response(status=problem.status, body=json.dumps(body).encode(), headers=headers)


def _rate_limited(route: Route, breach: Breach) -> Problem:
    wait = breach.retry_after
    return Problem(
        429,
        f"Too many requests to {route.prefix} from your address (at most {breach.limit}). Try again in {wait} s.",
        kind="rate-limited",
        headers={"Retry-After": str(wait)},
        retry_after=wait,
    )


def _body_too_large(route: Route) -> Problem:
    return Problem(
        413,
        f"The request body is larger than the {route.max_body_bytes} bytes {route.prefix} accepts.",
        kind="body-too-large",
        max_body_bytes=route.max_body_bytes,
    )


#: The application's :class:`EdgeGateway`.
GATEWAY: web.AppKey[EdgeGateway] = web.AppKey("gateway", EdgeGateway)


def build_server_app(settings: Settings, *, middlewares: tuple[Any, ...] = ()) -> web.Application:
    """The aiohttp application ``gateway web`` serves: every path and method goes to :class:`EdgeGateway`."""
    from .app import build_app

    gateway = EdgeGateway(settings, build_app(settings))
    app = web.Application(middlewares=middlewares)
    app[GATEWAY] = gateway
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.stop)
    # Every path, control characters included (a plain ".*" stops at a decoded newline).
    app.router.add_route("*", r"/{path:[\s\S]*}", gateway.handle)
    return app
