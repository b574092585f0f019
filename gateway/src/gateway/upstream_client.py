"""The gateway's HTTP/1.1 client for its upstreams: kept-alive connections on the event loop.

Forwarding a request is one write of the request (head and body together when the body is in
memory) and the answer parsed as it arrives by ``httptools`` (llhttp, compiled). Nothing else is
done per request: no cookie jar, redirects, decompression, tracing hooks or per-request objects
beyond the answer. aiohttp's client did all of that and, measured in process against the same
upstream, cost about four times the CPU of this exchange (``bench/README.md``).

What it guarantees:

- one exchange per connection at a time; a connection goes back to its pool only when the answer
  ended cleanly and both sides keep it alive, and is closed after ``keepalive_seconds`` idle (before
  the services' own keep-alive would drop it);
- failures as :class:`UpstreamFailure` of three kinds: ``unavailable`` (no connection could be
  made: nothing reached the upstream), ``timeout`` (no byte of the answer for ``read_timeout``
  seconds), ``bad_gateway`` (not HTTP, a head over :data:`MAX_HEAD_BYTES`, or the connection
  dropped before the answer ended);
- a large answer is read as the caller consumes it: reading pauses while more than
  :data:`BUFFER_HIGH_WATER` bytes wait (:meth:`UpstreamAnswer.chunks`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Iterable
from itertools import chain
from typing import Literal
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_HEAD_BYTES", "Upstream", "UpstreamAnswer", "UpstreamClient", "UpstreamFailure", "WritePaced"]

#: An answer's status line and headers together may not be larger than this.
MAX_HEAD_BYTES = 64 * 1024
#: ... and may carry at most this many header lines.
MAX_HEADERS = 128
#: Reading from the upstream pauses while this much of a streamed answer waits for the client.
BUFFER_HIGH_WATER = 256 * 1024

FailureKind = Literal["unavailable", "timeout", "bad_gateway"]


class UpstreamFailure(Exception):
    """The exchange with the upstream failed; ``kind`` says how (see the module's docstring)."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind


class Upstream:
    """Where a route's requests go: ``http(s)://host[:port]``, parsed once."""

    __slots__ = ("host", "host_header", "key", "port", "tls")

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) upstream: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.key = (parts.scheme, self.host, self.port)


class UpstreamAnswer:
    """The upstream's answer: status and headers as soon as they arrive, then the body."""

    __slots__ = ("_chunks", "_connection", "_done", "_error", "_ready", "_waiting", "raw_headers", "status")

    def __init__(self, connection: _Connection) -> None:
        self._connection: _Connection | None = connection
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._waiting = 0
        self._done = False
        self._error: UpstreamFailure | None = None
        self._ready: asyncio.Future[None] | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), decoded as Latin-1."""
        wanted = name.lower().encode("latin-1")
        for raw_name, raw_value in self.raw_headers:
            if raw_name.lower() == wanted:
                return raw_value.decode("latin-1")
        return None

    async def read(self) -> bytes:
        """The whole body (for answers known to be small)."""
        while not self._done:
            await self._wait()
        if self._error is not None:
            raise self._error
        body = b"".join(self._chunks)
        self._chunks.clear()
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; reading from the upstream resumes as the caller consumes it."""
        while True:
            while self._chunks:
                chunk = self._chunks.popleft()
                self._waiting -= len(chunk)
                if self._connection is not None:
                    self._connection.consumed(self._waiting)
                yield chunk
            if self._error is not None:
                raise self._error
            if self._done:
                return
            await self._wait()

    def close(self) -> None:
        """Give up on the rest of the answer: its connection is closed, never reused."""
        connection, self._connection = self._connection, None
        if connection is not None and not self._done:
            connection.abort()

    def release(self) -> None:
        """The caller is done with the answer (its connection was pooled when the answer ended)."""
        if not self._done:
            self.close()

    # -- fed by the connection -------------------------------------------------------------------

    def _body(self, chunk: bytes) -> int:
        self._chunks.append(chunk)
        self._waiting += len(chunk)
        self._wake()
        return self._waiting

    def _finish(self, error: UpstreamFailure | None = None) -> None:
        if self._done:
            return
        self._done, self._error = True, error
        self._connection = None
        self._wake()

    def _wake(self) -> None:
        ready, self._ready = self._ready, None
        if ready is not None and not ready.done():
            ready.set_result(None)

    async def _wait(self) -> None:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        await self._ready


class WritePaced(asyncio.Protocol):
    """A protocol whose sender waits on ``_writable`` while the transport's write buffer is over its
    high-water mark (asyncio calls :meth:`pause_writing` and :meth:`resume_writing`)."""

    loop: asyncio.AbstractEventLoop
    _writable: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)


class _Connection(WritePaced):
    """One kept-alive connection to an upstream, one exchange at a time."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.idle_since = 0.0
        self.reusable = True
        self._answer: UpstreamAnswer | None = None
        self._head: asyncio.Future[UpstreamAnswer] | None = None
        self._head_bytes = 0
        self._in_head = False
        self._informational = False
        self._skip_body = False
        self._read_timeout = 0.0
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._reading_paused = False
        self._sending = False

    # -- the exchange ----------------------------------------------------------------------------

    async def exchange(
        self, head: bytes, body: bytes | AsyncIterator[bytes] | None, *, read_timeout: float, head_only: bool
    ) -> UpstreamAnswer:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise UpstreamFailure("bad_gateway", "the connection to the upstream was closed")
        answer = self._answer = UpstreamAnswer(self)
        head_arrived: asyncio.Future[UpstreamAnswer] = self.loop.create_future()
        self._head = head_arrived
        self._head_bytes = 0
        self._in_head = True
        self._skip_body = head_only
        self._read_timeout = read_timeout
        if body is None or isinstance(body, bytes):
            transport.write(head + body if body else head)
        else:
            transport.write(head)
            self._sending = True
            try:
                await self._send_stream(body)
            finally:
                self._sending = False
        # As for any client: the wait for the answer starts once the whole request is sent.
        if self._answer is answer:
            self._last_read = self.loop.time()
            self._timer = self.loop.call_at(self._last_read + read_timeout, self._check_timeout)
        return await head_arrived

    async def _send_stream(self, body: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in body:
                if self.transport is None or self.transport.is_closing():
                    return  # the upstream went away; the answer's future says how
                self.transport.write(chunk)
                if self._writable is not None:
                    await self._writable
        except BaseException:
            # The request is incomplete: the connection cannot carry anything else.
            self._fail(UpstreamFailure("bad_gateway", "the request body could not be sent whole"))
            self.abort()
            raise

    def consumed(self, waiting: int) -> None:
        if self._reading_paused and waiting < BUFFER_HIGH_WATER // 2 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
            if self._answer is not None and self._timer is None:
                # The wait for the upstream starts again when reading does.
                self._last_read = self.loop.time()
                self._timer = self.loop.call_at(self._last_read + self._read_timeout, self._check_timeout)

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _check_timeout(self) -> None:
        self._timer = None
        if self._answer is None:
            return
        due = self._last_read + self._read_timeout
        if self.loop.time() < due:
            self._timer = self.loop.call_at(due, self._check_timeout)
            return
        self._fail(UpstreamFailure("timeout", f"no answer within {self._read_timeout:g} s"))
        self.abort()

    def _fail(self, failure: UpstreamFailure) -> None:
        self.reusable = False
        self._stop_timer()
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(failure)
        answer, self._answer = self._answer, None
        if answer is not None:
            answer._finish(failure)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._answer is None:
            self.abort()  # bytes nobody asked for: the connection is out of step
            return
        self._last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamFailure("bad_gateway", "the upstream switched protocols"))
            self.abort()
            return
        except httptools.HttpParserError:
            self._fail(UpstreamFailure("bad_gateway", "the upstream's answer is not valid HTTP"))
            self.abort()
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(UpstreamFailure("bad_gateway", "the upstream's answer head is too large"))
                self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.pool.forget(self)
        self.resume_writing()
        answer = self._answer
        if answer is not None:
            if not self._in_head and not self._skip_body and not _framed(answer):
                # No Content-Length and not chunked: the body ends where the connection does.
                self._complete()
            else:
                self._fail(UpstreamFailure("bad_gateway", "the upstream closed the connection before answering"))
        self.transport = None

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._answer is not None:
            self._answer.raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        # The head's lines and size are checked once it is whole (and its size as it arrives).
        self._answer.raw_headers.append((name, value))  # type: ignore[union-attr]

    def on_headers_complete(self) -> None:
        answer = self._answer
        assert answer is not None
        headers = answer.raw_headers
        if len(headers) > MAX_HEADERS or sum(map(len, chain.from_iterable(headers))) > MAX_HEAD_BYTES:
            raise UpstreamFailure("bad_gateway", "the upstream's answer head is too large")  # to feed_data's caller
        status = self.parser.get_status_code()
        self._informational = status < 200
        if self._informational:
            return  # 100 Continue and the like: the real answer follows
        self._in_head = False
        answer.status = status
        if not self.parser.should_keep_alive():
            self.reusable = False
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_result(answer)
        if self._skip_body:
            # An answer to HEAD announces a body it does not carry; llhttp would wait for it, so the
            # connection ends with this answer.
            self.reusable = False
            self._complete()

    def on_body(self, body: bytes) -> None:
        answer = self._answer
        if answer is None or not body:
            return
        if answer._body(body) > BUFFER_HIGH_WATER and not self._reading_paused and self.transport is not None:
            # The client is slower than the upstream: the upstream waits (and is not timed) meanwhile.
            self._reading_paused = True
            self.transport.pause_reading()
            self._stop_timer()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete()

    def _complete(self) -> None:
        answer, self._answer = self._answer, None
        self._stop_timer()
        if answer is not None:
            answer._finish()
        if self._sending:
            self.reusable = False  # answered before the request was sent whole: nothing else can follow
        if self.reusable and self.transport is not None and not self.transport.is_closing():
            if self._reading_paused:
                self._reading_paused = False
                self.transport.resume_reading()
            self.pool.put_back(self)
        elif self.transport is not None:
            self.transport.close()


class _Pool:
    """Idle connections to one upstream, newest first out."""

    def __init__(self, upstream: Upstream, loop: asyncio.AbstractEventLoop, keepalive_seconds: float) -> None:
        self.upstream = upstream
        self.loop = loop
        self.keepalive_seconds = keepalive_seconds
        self.idle: list[_Connection] = []

    async def acquire(self, connect_timeout: float, tls: ssl.SSLContext | None) -> _Connection:
        now = self.loop.time()
        while self.idle:
            connection = self.idle.pop()
            transport = connection.transport
            fresh = now - connection.idle_since < self.keepalive_seconds
            if fresh and transport is not None and not transport.is_closing():
                return connection
            connection.abort()
        upstream = self.upstream
        try:
            async with asyncio.timeout(connect_timeout):
                _transport, connection = await self.loop.create_connection(
                    lambda: _Connection(self),
                    upstream.host,
                    upstream.port,
                    ssl=tls,
                    server_hostname=upstream.host if tls is not None else None,
                )
        except TimeoutError:
            raise UpstreamFailure("unavailable", f"no connection within {connect_timeout:g} s") from None
        except OSError as exc:  # refused, unreachable, unknown host, TLS handshake refused
            raise UpstreamFailure("unavailable", f"no connection: {exc.__class__.__name__}") from None
        return connection

    def put_back(self, connection: _Connection) -> None:
        connection.idle_since = self.loop.time()
        self.idle.append(connection)

    def forget(self, connection: _Connection) -> None:
        try:
            self.idle.remove(connection)
        except ValueError:
            pass

    def close(self) -> None:
        while self.idle:
            self.idle.pop().abort()


class UpstreamClient:
    """Pools per upstream, created on first use; one per event loop (per gateway worker)."""

    def __init__(self, *, keepalive_seconds: float) -> None:
        self.keepalive_seconds = keepalive_seconds
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def request(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> UpstreamAnswer:
        """Send the request and wait for the answer's head; the body is read from the answer.

        ``target`` is the encoded path and query; ``headers`` must not carry Host (set here), and
        carry Content-Length when there is a body. A header value with a line break is refused
        with ``ValueError`` before anything is sent.
        """
        head = _request_head(method, target, upstream.host_header, headers)
        pool = self._pools.get(upstream.key)
        if pool is None:
            pool = self._pools[upstream.key] = _Pool(upstream, asyncio.get_running_loop(), self.keepalive_seconds)
        tls = self._tls_context() if upstream.tls else None
        connection = await pool.acquire(connect_timeout, tls)
        return await connection.exchange(head, body, read_timeout=read_timeout, head_only=method == "HEAD")

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def idle_connections(self) -> int:
        """How many kept-alive connections wait in the pools (for tests and diagnostics)."""
        return sum(len(pool.idle) for pool in self._pools.values())

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _framed(answer: UpstreamAnswer) -> bool:
    """Whether the answer said where its body ends (else it ends with the connection)."""
    return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in answer.raw_headers)


def _request_head(method: str, target: str, host: str, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"the header {name!r} cannot be sent on")
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    if "\n" in target or "\r" in target or " " in target:
        raise ValueError("the request target cannot be sent on")
    # Header values came from a parser that decoded them as UTF-8 with surrogate escapes: the
    # client's exact bytes go on.
    return "".join(lines).encode("utf-8", "surrogateescape")
