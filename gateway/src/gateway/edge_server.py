"""The gateway's connections: plain routed requests on a lean lane, everything else on aiohttp's server.

Nearly every request through the gateway is a citizen's call to a service: a head, perhaps a small
JSON body, forwarded and answered. For those, aiohttp's server machinery (a handler task per
connection, its request, response and payload-writer objects, its router) cost about as much CPU as
the forwarding itself (``bench/README.md``). So each connection starts on :class:`FastConnection`:
llhttp (``httptools``) parses the request, and a request that is

- routed to a service (:meth:`EdgeGateway.route_for`), in origin form (``/path?query``),
- GET, HEAD, POST, PUT, PATCH or DELETE,
- without a body, or with a ``Content-Length`` of at most :data:`~gateway.edge.BUFFERED_BODY_BYTES`,
- without ``Transfer-Encoding``, ``Expect`` or ``Upgrade``,

is forwarded by :meth:`EdgeGateway.forward` (the same checks, limits, headers, metrics and log line
as on aiohttp's side) and its answer written here, head and body in one write when it is small.

Anything else — the gateway's own pages, preflights, chunked or large uploads, ``Expect:
100-continue``, upgrades, other methods and targets — hands the connection to aiohttp: the bytes
of that request so far go to a fresh aiohttp request handler (:meth:`EdgeGateway.handle`), which
keeps the connection from then on.

Requests pipelined on one connection are answered in order. A request that must go to aiohttp
waits until the ones before it are answered; when it came in the same packet as one before it
(its first byte's place is then unknown), the connection is closed after the answers before it,
which RFC 9112 (9.3.2) allows and pipelining clients retry. Bounds, as on aiohttp's side: a
request line or header field over :data:`MAX_FIELD_BYTES`, more than :data:`MAX_HEADERS` header
lines, or a head over :data:`MAX_HEAD_BYTES` is refused (414 or 431); a request that is not valid
HTTP/1.x gets a 400; all three as problem+json, then the connection is closed. A connection silent
for the keep-alive time while no request of it is being answered is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from itertools import chain
from typing import Any
from urllib.parse import unquote

import httptools
from aiohttp import web
from mai_chassis import Problem
from mai_chassis.web import REQUEST_ID_HEADER, request_ids
from multidict import CIMultiDict, MultiMapping

from .edge import BUFFERED_BODY_BYTES, GATEWAY, NO_BODY_STATUSES, EdgeGateway, StreamedAnswer, problem_response
from .routes import Route
from .upstream_client import WritePaced

__all__ = ["EdgeRunner", "EdgeServer", "FastConnection", "FastRequest"]

logger = logging.getLogger("gateway.edge_server")

#: A request line or one header field (name or value) may not be longer (aiohttp's own limit).
MAX_FIELD_BYTES = 8190
#: At most this many header lines (aiohttp's own limit).
MAX_HEADERS = 128
#: The whole head of a request may not be larger than this.
MAX_HEAD_BYTES = 64 * 1024
#: Reading from a connection pauses while this many of its requests wait for their answers.
MAX_PIPELINED = 16
#: After a refusal, the client's remaining bytes are read and dropped for at most this long.
LINGER_SECONDS = 2.0
FAST_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

RequestHook = Callable[["FastRequest"], None]


class _HandOn(Exception):
    """Raised in a parser callback: this request goes to aiohttp."""


class _Refusal(Exception):
    """Raised in a parser callback (or queued): the request is refused and the connection closed."""

    def __init__(self, status: int, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind


class _Body:
    """A request body already read whole, read as aiohttp's ``request.content`` is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self, n: int = -1) -> bytes:
        data = self.data if n < 0 else self.data[:n]
        self.data = self.data[len(data) :]
        return data

    async def readexactly(self, n: int) -> bytes:
        if len(self.data) < n:
            raise asyncio.IncompleteReadError(self.data, n)
        return await self.read(n)


class FastRequest:
    """A request on the lean lane, with the attributes forwarding reads (:class:`~gateway.edge.ForwardedRequest`)."""

    __slots__ = (
        "content",
        "content_length",
        "headers",
        "keep_alive",
        "method",
        "path",
        "query",
        "raw_path",
        "remote",
        "route",
        "scheme",
        "version",
    )

    def __init__(
        self,
        *,
        method: str,
        raw_path: str,
        path: str,
        query: str,
        route: Route,
        headers: CIMultiDict[str],
        version: str,
        remote: str,
        scheme: str,
        content_length: int | None,
    ) -> None:
        self.method, self.raw_path, self.path, self.query, self.route = method, raw_path, path, query, route
        self.headers: MultiMapping[str] = headers
        self.version, self.remote, self.scheme, self.content_length = version, remote, scheme, content_length
        self.content = _Body(b"")
        self.keep_alive = True


class FastConnection(WritePaced):
    """One client connection on the lean lane, until it closes or is handed to aiohttp."""

    def __init__(self, server: EdgeServer) -> None:
        self.server = server
        self.gateway = server.gateway
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.remote = ""
        self.scheme = "http"
        # The request being parsed.
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._request: FastRequest | None = None
        self._in_message = False
        self._in_head = False
        self._head_bytes = 0
        # Its bytes since its first one (for a hand-on), when that place is known.
        self._start_known = True
        self._received: list[bytes] = []
        self._fed = b""
        self._completed_in_feed = False
        # What is to be answered, in order, and what to do once it is.
        self._queue: deque[FastRequest | _Refusal] = deque()
        self._serving: asyncio.Task[None] | None = None
        self._then: Callable[[], None] | None = None
        self._reading_paused = False
        self._closed = False
        self._last_seen = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.remote = str(peer[0]) if isinstance(peer, (list, tuple)) and peer else str(peer or "")
        self.scheme = "https" if transport.get_extra_info("sslcontext") is not None else "http"
        self.server.fast_connections.add(self)
        self._last_seen = self.loop.time()
        self._timer = self.loop.call_at(self._last_seen + self.server.keepalive_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # parsing stopped: a hand-on waits for the answers before it, or a refusal lingers
            if self._then == self._hand_on:
                self._received.append(data)
            return
        self._last_seen = self.loop.time()
        self._fed = data
        self._completed_in_feed = False
        if self._in_message:
            self._received.append(data)
        was_in_head = self._in_head
        try:
            parser.feed_data(data)
            # A packet read while the head is still incomplete is all head, unless the request began
            # in it behind another one (then an unknown part is; the packet's own size bounds it).
            if self._in_head and (was_in_head or self._start_known):
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    raise _Refusal(431, f"The request head is larger than {MAX_HEAD_BYTES} bytes.", "head-too-large")
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _HandOn):
                self._stop_parsing(self._hand_on)
            elif isinstance(cause, _Refusal):
                self._refuse(cause)
            else:
                logger.error("a request could not be read", exc_info=cause)
                self._refuse(_Refusal(400, "The request could not be read.", "invalid-request"))
        except httptools.HttpParserUpgrade:
            self._stop_parsing(self._hand_on)  # an upgrade goes to aiohttp (its head was seen whole)
        except httptools.HttpParserError:
            self._refuse(_Refusal(400, "The request is not valid HTTP/1.1.", "invalid-request"))
        except _Refusal as refusal:
            self._refuse(refusal)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.parser = None
        self._queue.clear()
        self._then = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.resume_writing()
        if self._serving is None:
            self.server.fast_connections.discard(self)

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = self._in_head = True
        self._start_known = not self._completed_in_feed
        self._received = [self._fed]
        self._url = b""
        self._headers = []
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_FIELD_BYTES:
            raise _Refusal(414, f"The request target is longer than {MAX_FIELD_BYTES} bytes.", "target-too-long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))  # their sizes are checked once the head is whole

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        parser = self.parser
        assert parser is not None
        method = parser.get_method().decode("ascii", "replace")
        url = self._url
        if method not in FAST_METHODS or not url.startswith(b"/"):
            raise _HandOn
        raw_headers = self._headers
        if len(raw_headers) > MAX_HEADERS:
            raise _Refusal(431, f"The request has more than {MAX_HEADERS} header lines.", "too-many-headers")
        if raw_headers and max(map(len, chain.from_iterable(raw_headers))) > MAX_FIELD_BYTES:
            raise _Refusal(431, f"A header field is longer than {MAX_FIELD_BYTES} bytes.", "header-too-large")
        headers: CIMultiDict[str] = CIMultiDict(
            [
                (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
                for name, value in raw_headers
            ]
        )
        if "Transfer-Encoding" in headers or "Expect" in headers or "Upgrade" in headers:
            raise _HandOn
        length: int | None = None
        declared = headers.get("Content-Length")
        if declared is not None:
            if not declared.isdigit():  # llhttp lets only one through, all digits: never seen here
                raise _Refusal(400, "The Content-Length is not a number.", "invalid-request")
            length = int(declared)
            if length > BUFFERED_BODY_BYTES:
                raise _HandOn
        raw_path = url.decode("utf-8", "surrogateescape")
        target, _, query = raw_path.partition("?")
        path = unquote(target, errors="replace")
        route = self.gateway.route_for(path)
        if route is None:
            raise _HandOn
        request = self._request = FastRequest(
            method=method,
            raw_path=raw_path,
            path=path,
            query=query,
            route=route,
            headers=headers,
            version=parser.get_http_version(),
            remote=self.remote,
            scheme=self.scheme,
            content_length=length,
        )
        if self.server.request_hook is not None:
            self.server.request_hook(request)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        request, self._request = self._request, None
        self._in_message = False
        self._completed_in_feed = True
        self._received = []
        if request is None:
            return
        request.keep_alive = self.parser is not None and self.parser.should_keep_alive()
        if self._body:
            request.content = _Body(b"".join(self._body))
            self._body = []
        self._queue.append(request)
        if len(self._queue) >= MAX_PIPELINED:
            self._pause_reading()
        if self._serving is None:
            self._serving = self.loop.create_task(self._serve())

    # -- answering -------------------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            while self._queue and not self._closed:
                item = self._queue.popleft()
                if isinstance(item, _Refusal):
                    self._write(self._refusal_bytes(item))
                    self._then = self._linger
                    break
                self.server.fast_requests += 1
                try:
                    keep_alive = await self._answer(item)
                except Exception:  # the answer could not be written: the connection is out of step
                    logger.exception("the answer to %s %s could not be written", item.method, item.route.prefix)
                    self.abort()
                    break
                if not keep_alive:
                    self._then = self._close
                    break
                if self._writable is not None:
                    await self._writable  # the client reads slower than we answer: wait for it
                if self._reading_paused and self._then is None and len(self._queue) < MAX_PIPELINED // 2:
                    self._resume_reading()
        finally:
            self._serving = None
            self._last_seen = self.loop.time()
        if self._closed:
            self.server.fast_connections.discard(self)
            return
        then, self._then = self._then, None
        if then is not None:
            then()

    async def _answer(self, request: FastRequest) -> bool:
        """Forward ``request`` and write its answer; whether the connection can carry another."""
        try:
            response = await self.gateway.forward(request, request.route, request.path, request.query)
        except Exception:
            logger.exception("%s %s could not be forwarded", request.method, request.route.prefix)
            request_id, _ = request_ids(request.headers.get(REQUEST_ID_HEADER, ""), "")
            problem = Problem(500, "The gateway failed on this request; nothing was sent on.", kind="gateway-error")
            response = problem_response(problem, request.path, request_id)
            request.keep_alive = False
        if isinstance(response, StreamedAnswer):
            return await self._stream(request, response)
        assert isinstance(response, web.Response)
        body = response.body
        data = body if isinstance(body, bytes) else b""
        head, keep_alive, empty = _head(request, response, len(data), request.keep_alive)
        self._write(head if empty or not data else head + data)
        return keep_alive

    async def _stream(self, request: FastRequest, response: StreamedAnswer) -> bool:
        if self._closed:
            response.upstream.close()
            return False
        headers = response.headers
        keep_alive, chunked = request.keep_alive, False
        if "Content-Length" not in headers and not _bodiless(response.status, request.method):
            if request.version == "1.1":
                headers["Transfer-Encoding"] = "chunked"
                chunked = True
            else:
                keep_alive = False  # HTTP/1.0 without a length: the body ends with the connection
        head, keep_alive, _empty = _head(request, response, None, keep_alive)

        async def start() -> None:
            self._write(head)

        async def write(chunk: bytes) -> None:
            if self._closed:
                raise ConnectionResetError("the client went away")
            self._write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            if self._writable is not None:
                await self._writable

        if not await response.relay(start(), write):
            if self.transport is not None:
                self.transport.abort()
            return False
        if chunked:
            self._write(b"0\r\n\r\n")
        return keep_alive

    def _write(self, data: bytes) -> None:
        if not self._closed and self.transport is not None:
            self.transport.write(data)

    def _refusal_bytes(self, refusal: _Refusal) -> bytes:
        response = problem_response(Problem(refusal.status, refusal.detail, kind=refusal.kind), "", "")
        response.headers["Server"] = "gateway"
        response.headers["Cache-Control"] = "no-store"
        body = response.body
        data = body if isinstance(body, bytes) else b""
        head, _keep, _empty = _head(None, response, len(data), False)
        return head + data

    # -- stopping, handing on, closing -----------------------------------------------------------

    def _refuse(self, refusal: _Refusal) -> None:
        """Answer ``refusal`` after the requests before it, then close."""
        self.parser = None
        self._pause_reading()
        self._then = None
        self._queue.append(refusal)
        if self._serving is None:
            self._serving = self.loop.create_task(self._serve())

    def _stop_parsing(self, then: Callable[[], None]) -> None:
        """Read nothing more; once the requests before are answered, ``then`` (hand on, or close)."""
        self.parser = None
        self._pause_reading()
        self._then = then
        if self._serving is None and not self._queue:
            self._then = None
            then()

    def _hand_on(self) -> None:
        transport = self.transport
        if transport is None or self._closed:
            return
        if not self._start_known:
            # Pipelined behind another request in one packet: where it starts is not known here.
            self._close()
            return
        received = b"".join(self._received)
        self._received = []
        self._leave()
        handler = self.server.aiohttp_connection()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        transport.resume_reading()
        handler.data_received(received)

    def _leave(self) -> None:
        """The connection is no longer this lane's."""
        self._closed = True
        self.transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server.fast_connections.discard(self)

    def _linger(self) -> None:
        """Close after a refusal without losing it: a close with the client's bytes unread would reset
        the connection, and the client could lose the answer with it (RFC 9112, 9.6). So the
        gateway's side ends, what the client still sends is read and dropped, and the connection is
        closed when the client closes it or after :data:`LINGER_SECONDS`."""
        transport = self.transport
        if transport is None or self._closed:
            return
        if transport.can_write_eof():
            transport.write_eof()
        self._resume_reading()
        self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if self.transport is not None and not self._closed:
            self.transport.close()

    def close_when_answered(self) -> None:
        """At shutdown: take no new request; close once the ones read are answered."""
        if self._closed:
            return
        self._stop_parsing(self._close)

    def abort(self) -> None:
        if self.transport is not None and not self._closed:
            self.transport.abort()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self._closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self._closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def _check_idle(self) -> None:
        self._timer = None
        if self._closed:
            return
        now = self.loop.time()
        due = self._last_seen + self.server.keepalive_timeout
        if self._serving is None and not self._queue and now >= due:
            self._close()
            return
        self._timer = self.loop.call_at(max(due, now + 1.0), self._check_idle)


def _head(
    request: FastRequest | None, response: web.StreamResponse, length: int | None, keep_alive: bool
) -> tuple[bytes, bool, bool]:
    """The answer's status line and headers as aiohttp would write them; (head, keep alive, body-less).

    ``length`` is the body's size, None for a streamed body (its framing already in the headers).
    """
    status = response.status
    headers = response.headers
    method = request.method if request is not None else "GET"
    version = request.version if request is not None else "1.1"
    empty = _bodiless(status, method)
    if "Content-Length" not in headers and length is not None and (length or (status != 304 and method != "HEAD")):
        headers["Content-Length"] = str(length)
    if empty:  # no body follows: no framing of one (a HEAD answer keeps the length it announces)
        if status in NO_BODY_STATUSES or status < 200:
            headers.popall("Content-Length", None)
        headers.popall("Transfer-Encoding", None)
    elif headers.get("Content-Length") != "0":
        headers.setdefault("Content-Type", "application/octet-stream")
    if "Date" not in headers:
        headers["Date"] = _http_date()
    if "Connection" not in headers:
        if keep_alive and version == "1.0":
            headers["Connection"] = "keep-alive"
        elif not keep_alive and version == "1.1":
            headers["Connection"] = "close"
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if fields.count("\n") != len(headers) or fields.count("\r") != len(headers):
        raise ValueError("a header of the answer has a line break")  # as aiohttp refuses to write one
    head = f"HTTP/{version} {status} {response.reason}\r\n{fields}\r\n"
    return head.encode("utf-8", "surrogateescape"), keep_alive, empty


def _bodiless(status: int, method: str) -> bool:
    """Whether the answer carries no body whatever its headers say (RFC 9110, 6.4.1)."""
    return status in NO_BODY_STATUSES or status < 200 or method == "HEAD"


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The ``Date`` header's value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class EdgeServer:
    """The listeners' protocol factory: each connection starts on the lean lane; aiohttp's server
    (``inner``) takes the connections handed to it, and both are stopped together."""

    def __init__(
        self,
        inner: web.Server,
        gateway: EdgeGateway,
        *,
        keepalive_timeout: float,
        request_hook: RequestHook | None = None,
    ) -> None:
        self.inner = inner
        self.gateway = gateway
        self.loop = asyncio.get_running_loop()
        self.keepalive_timeout = keepalive_timeout
        self.request_hook = request_hook
        self.fast_connections: set[FastConnection] = set()
        self.fast_requests = 0

    def __call__(self) -> FastConnection:
        return FastConnection(self)

    def aiohttp_connection(self) -> asyncio.Protocol:
        return self.inner()

    @property
    def requests_count(self) -> int:
        """Requests answered by this process on either side (gunicorn's ``max_requests`` reads it)."""
        return self.inner.requests_count + self.fast_requests

    def pre_shutdown(self) -> None:
        self.inner.pre_shutdown()
        for connection in list(self.fast_connections):
            connection.close_when_answered()

    async def shutdown(self, timeout: float | None = None) -> None:
        """Let the requests in hand be answered (for at most ``timeout`` seconds), then close everything."""
        serving = [connection._serving for connection in self.fast_connections if connection._serving is not None]
        waits: list[Any] = [self.inner.shutdown(timeout)]
        if serving:
            waits.append(asyncio.wait(serving, timeout=timeout))
        await asyncio.gather(*waits)
        for connection in list(self.fast_connections):
            connection.abort()
        self.fast_connections.clear()


class EdgeRunner(web.AppRunner):
    """aiohttp's application runner, its listeners serving through :class:`EdgeServer`."""

    def __init__(
        self,
        app: web.Application,
        *,
        keepalive_timeout: float,
        request_hook: RequestHook | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, keepalive_timeout=keepalive_timeout, **kwargs)
        self.edge_options = {"keepalive_timeout": keepalive_timeout, "request_hook": request_hook}

    async def _make_server(self) -> web.Server:
        inner = await super()._make_server()
        return EdgeServer(inner, self.app[GATEWAY], **self.edge_options)  # type: ignore[arg-type,return-value]
