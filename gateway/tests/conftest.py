"""Fake upstreams on loopback (real HTTP servers in threads) and a gateway routed to them.

A gateway under test is the real server application (:func:`gateway.edge.build_server_app`) on a
loopback port, its event loop in a thread; its ``test_client()`` speaks HTTP to it and answers
with the attributes of Flask's test responses (``status_code``, ``json``, ``headers``...), so a
test reads the same whichever side of the gateway answered. ``environ_base={"REMOTE_ADDR": ...}``
makes the request come from that address (a test-only middleware sets the peer).
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from aiohttp import web
from mai_chassis.service import KEEPALIVE_SECONDS
from mai_devtools.ports import free_port
from multidict import CIMultiDict
from requests.structures import CaseInsensitiveDict

# pytest's importlib mode names this file "gateway.tests.conftest" and so registers the folder
# gateway/ as an empty namespace package "gateway", hiding the installed package of that name.
if getattr(sys.modules.get("gateway"), "__file__", None) is None:
    del sys.modules["gateway"]
    importlib.import_module("gateway")

from gateway.config import Settings
from gateway.edge import GATEWAY, build_server_app
from gateway.edge_server import EdgeRunner, FastRequest

#: A 1 MiB answer (a certificate PDF, say): over the size the gateway reads whole, so it is streamed.
LARGE_BODY = bytes(range(256)) * 4096


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: CaseInsensitiveDict[str]
    body: bytes


@dataclass
class FakeUpstream:
    """A tiny HTTP service: echoes requests as JSON, ``/slow`` sleeps, ``/held`` waits for ``release``."""

    name: str
    openapi: dict[str, Any] = field(default_factory=dict)
    slow_seconds: float = 2.0
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[SeenRequest] = field(default_factory=list)
    connections: list[socket.socket] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests_to(self, path_prefix: str) -> list[SeenRequest]:
        return [seen for seen in self.seen if seen.path.startswith(path_prefix)]

    def start(self) -> FakeUpstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                upstream.connections.append(self.connection)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.seen.append(
                    SeenRequest(self.command, self.path, CaseInsensitiveDict(self.headers.items()), body)
                )
                if self.path == "/healthz":
                    return self._json(200, {"status": "ok"})
                if self.path == "/openapi.json":
                    return self._json(200, upstream.openapi)
                if "/slow" in self.path:
                    time.sleep(upstream.slow_seconds)
                if "/held" in self.path:
                    upstream.release.wait(timeout=30)
                if "/no-content" in self.path:
                    self.send_response(204)  # no Content-Length: a 204 has no body whatever it says
                    self.end_headers()
                    return None
                if "/large" in self.path:
                    return self._large(chunked="chunked" in self.path)
                payload = json.dumps(
                    {"service": upstream.name, "method": self.command, "path": self.path, "body_bytes": len(body)}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Set-Cookie", "first=1; Path=/")
                self.send_header("Set-Cookie", "second=2; Path=/")
                self.send_header("Connection", "X-Upstream-Hop")
                self.send_header("X-Upstream-Hop", "should-not-pass")
                self.send_header("Keep-Alive", "timeout=5")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _large(self, *, chunked: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(LARGE_BODY)))
                self.end_headers()
                for start in range(0, len(LARGE_BODY), 100_000):
                    piece = LARGE_BODY[start : start + 100_000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")

            def _json(self, status: int, document: Any) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            for connection in self.connections:  # a stopped service keeps no keep-alive connection open
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.server = None


class GarbageUpstream:
    """Accepts connections and answers with bytes that are not HTTP; counts the connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while self._running:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(1.0)
                try:
                    connection.recv(65536)
                    connection.sendall(b"SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
                except OSError:
                    pass

    def stop(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        self.listener.close()


def write_routes(path: Path, routes: list[dict[str, Any]], defaults: dict[str, Any] | None = None) -> Path:
    path.write_text(yaml.safe_dump({"defaults": defaults or {}, "routes": routes}))
    return path


@pytest.fixture
def rewrite_routes() -> Callable[..., Path]:
    """Replace a route file's content and move its modification time forward."""

    def rewrite(path: Path, routes: list[dict[str, Any]]) -> Path:
        write_routes(path, routes)
        later = time.time() + 5
        os.utime(path, (later, later))
        return path

    return rewrite


@pytest.fixture
def large_body() -> bytes:
    return LARGE_BODY


@pytest.fixture(scope="session")
def stopped_upstream_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def petition_upstream() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream("petition-svc").start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def module_petition_upstream() -> Iterator[FakeUpstream]:
    """A petition upstream shared by a module's tests (for fixtures that are costly to start)."""
    upstream = FakeUpstream("petition-svc").start()
    yield upstream
    upstream.stop()


@pytest.fixture
def identity_upstream() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream("identity-svc").start()
    yield upstream
    upstream.stop()


@pytest.fixture
def garbage_upstream() -> Iterator[GarbageUpstream]:
    upstream = GarbageUpstream()
    yield upstream
    upstream.stop()


#: The header a test request names its peer address with; never sent on (see ``_test_peer``).
_PEER_HEADER = "X-Test-Peer"


@web.middleware
async def _test_peer(request: web.Request, handler: Callable[..., Any]) -> Any:
    peer = request.headers.get(_PEER_HEADER)
    if peer is not None:
        headers = request.headers.copy()
        del headers[_PEER_HEADER]
        request = request.clone(remote=peer, headers=headers)
    return await handler(request)


def _test_peer_on_lean_lane(request: FastRequest) -> None:
    """``_test_peer`` for the requests :mod:`gateway.edge_server` forwards itself."""
    peer = request.headers.get(_PEER_HEADER)
    if peer is not None:
        headers = CIMultiDict(request.headers)
        del headers[_PEER_HEADER]
        request.headers, request.remote = headers, peer


class Answer:
    """An HTTP answer with the attributes of a Flask test response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.status_code = response.status
        self.headers = response.headers
        self.data = response.data

    def get_data(self, as_text: bool = False) -> Any:
        return self.data.decode() if as_text else self.data

    def get_json(self) -> Any:
        return json.loads(self.data) if self.data else None

    @property
    def json(self) -> Any:
        return self.get_json()

    @property
    def mimetype(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()


class HttpClient:
    """Requests to one running gateway over a kept-alive connection, as Flask's test client takes them."""

    def __init__(self, base_url: str) -> None:
        self.pool = urllib3.connection_from_url(base_url, maxsize=1, retries=False)

    def open(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        content_type: str | None = None,
        environ_base: dict[str, str] | None = None,
        environ_overrides: dict[str, Any] | None = None,
        input_stream: io.BytesIO | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        body: Any = None
        chunked = False
        if json is not None:
            body = _json_dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        elif input_stream is not None:
            assert (environ_overrides or {}).get("wsgi.input_terminated"), "a stream is sent chunked"
            content = input_stream.read()
            body, chunked = iter([content[i : i + 1000] for i in range(0, len(content), 1000)]), True
        if content_type is not None:
            sent["Content-Type"] = content_type
        if environ_base and "REMOTE_ADDR" in environ_base:
            sent[_PEER_HEADER] = environ_base["REMOTE_ADDR"]
        response = self.pool.urlopen(
            method, path, body=body, headers=sent, chunked=chunked, redirect=False, preload_content=True
        )
        return Answer(response)

    def get(self, path: str, **options: Any) -> Answer:
        return self.open("GET", path, **options)

    def head(self, path: str, **options: Any) -> Answer:
        return self.open("HEAD", path, **options)

    def post(self, path: str, **options: Any) -> Answer:
        return self.open("POST", path, **options)

    def put(self, path: str, **options: Any) -> Answer:
        return self.open("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Answer:
        return self.open("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Answer:
        return self.open("DELETE", path, **options)

    def options(self, path: str, **options: Any) -> Answer:
        return self.open("OPTIONS", path, **options)


_json_dumps = json.dumps


class GatewayUnderTest:
    """The gateway's server application running on a loopback port, its loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_server_app(settings, middlewares=(_test_peer,))
        self.pages = self.app[GATEWAY].pages
        self.config = {"SERVICE_SETTINGS": settings}
        self.extensions = self.pages.extensions
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self.runner = EdgeRunner(
            self.app, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS, request_hook=_test_peer_on_lean_lane
        )
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(10), "the gateway under test did not start"
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        started.set()
        self.loop.run_forever()
        self.loop.close()

    def test_client(self, use_cookies: bool = True) -> HttpClient:
        return HttpClient(self.url)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


GatewayFactory = Callable[..., GatewayUnderTest]


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start a gateway for a route list (``routes``) and settings overrides."""
    started: list[GatewayUnderTest] = []

    def build(
        routes: list[dict[str, Any]], *, defaults: dict[str, Any] | None = None, **overrides: Any
    ) -> GatewayUnderTest:
        routes_file = write_routes(tmp_path / f"routes-{len(started)}.yaml", routes, defaults)
        options = {
            "log_json": False,
            "routes_check_seconds": 0.0,
            "readiness_cache_seconds": 0.0,
            "openapi_refresh_seconds": 60.0,
            **overrides,
        }
        gateway = GatewayUnderTest(Settings(routes_file=str(routes_file), **options))
        started.append(gateway)
        return gateway

    yield build
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(
    make_gateway: GatewayFactory, petition_upstream: FakeUpstream, identity_upstream: FakeUpstream
) -> GatewayUnderTest:
    """Two services behind the gateway, with a generous rate limit and a 1 KiB body limit."""
    return make_gateway(
        [
            {"prefix": "/api/v1/petitions", "upstream": petition_upstream.url, "service": "petition-svc"},
            {"prefix": "/api/v1/accounts", "upstream": identity_upstream.url, "service": "identity-svc"},
            {"prefix": "/api/v1/accounts/staff", "upstream": petition_upstream.url, "service": "petition-svc"},
        ],
        defaults={"max_body_bytes": 1024, "rate_limit": "1000/minute", "timeout_seconds": 0.5},
        cors_allowed_origins=("https://portal.mai.gov.ro",),
    )
