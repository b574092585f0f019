"""The lean lane (:mod:`gateway.edge_server`): which requests it answers itself, which it hands to
aiohttp, and how it treats pipelining, bad heads, HTTP/1.0, idle and stopping connections.

Requests are written on raw sockets, so the exact bytes on the wire (pipelining, a head that is too
large, a request that is not HTTP) are the test's own; answers are parsed with llhttp.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httptools
import pytest
import requests
from gateway.edge_server import MAX_FIELD_BYTES, MAX_HEADERS, EdgeServer

from .conftest import LARGE_BODY, GatewayUnderTest

WAIT_SECONDS = 10.0


@dataclass
class Reply:
    status: int = 0
    version: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)

    @property
    def json(self) -> object:
        return json.loads(bytes(self.body))


class _Replies:
    """Answers read off one connection with llhttp, in order; ``closed`` once the gateway closed it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.done: list[Reply] = []
        self.closed = False
        self._current = Reply()
        self._parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        self._current.status = self._parser.get_status_code()
        self._current.version = self._parser.get_http_version()

    def on_body(self, body: bytes) -> None:
        self._current.body += body

    def on_message_complete(self) -> None:
        self.done.append(self._current)
        self._current = Reply()

    def read(self, count: int) -> list[Reply]:
        """Read until ``count`` answers arrived or the connection closed (whichever is first)."""
        self.sock.settimeout(WAIT_SECONDS)
        while len(self.done) < count and not self.closed:
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                try:
                    self._parser.feed_data(b"")  # a body delimited by the close ends here
                except httptools.HttpParserError:
                    pass
                if self._current.status and self._current not in self.done:
                    self.done.append(self._current)
                break
            self._parser.feed_data(data)
        return self.done

    def wait_closed(self) -> bool:
        self.sock.settimeout(WAIT_SECONDS)
        while not self.closed:
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
            else:
                self._parser.feed_data(data)
        return self.closed


def _connect(gateway: GatewayUnderTest) -> tuple[socket.socket, _Replies]:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=WAIT_SECONDS)
    return sock, _Replies(sock)


def _get(path: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: gateway.test", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _edge(gateway: GatewayUnderTest) -> EdgeServer:
    server = gateway.runner.server
    assert isinstance(server, EdgeServer)
    return server


def test_a_routed_request_is_answered_on_the_lean_lane_with_the_gateways_headers(gateway, petition_upstream):
    edge = _edge(gateway)
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(
            _get("/api/v1/petitions/2024-000123?lang=ro", "X-Request-ID: 7f1b0c2e-9f7a-4c55-8d0a-3c1e9b2a6d41")
        )
        (reply,) = replies.read(1)

    assert reply.status == 200
    assert reply.json == {
        "service": "petition-svc",
        "method": "GET",
        "path": "/api/v1/petitions/2024-000123?lang=ro",
        "body_bytes": 0,
    }
    assert reply.headers["x-request-id"] == "7f1b0c2e-9f7a-4c55-8d0a-3c1e9b2a6d41"
    assert reply.headers["server"] == "gateway"
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["content-type"] == "application/json"
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert reply.headers["date"].endswith(" GMT")
    assert "x-upstream-hop" not in reply.headers  # named by the upstream's Connection header: hop-by-hop
    assert (edge.fast_requests, edge.inner.requests_count) == (1, 0)


def test_the_gateways_own_pages_hand_the_connection_to_aiohttp_which_keeps_it(gateway, petition_upstream):
    edge = _edge(gateway)
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/1"))
        replies.read(1)
        sock.sendall(_get("/healthz"))
        replies.read(2)
        sock.sendall(_get("/api/v1/petitions/2"))
        first, page, second = replies.read(3)

    assert [first.status, page.status, second.status] == [200, 200, 200]
    assert page.json["status"] == "ok"
    assert second.json["path"] == "/api/v1/petitions/2"
    assert not replies.closed
    assert (edge.fast_requests, edge.inner.requests_count) == (1, 2)


def test_pipelined_requests_are_answered_in_their_order(gateway, petition_upstream):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(b"".join(_get(f"/api/v1/petitions/{n}") for n in range(5)))
        answers = replies.read(5)

    assert [answer.json["path"] for answer in answers] == [f"/api/v1/petitions/{n}" for n in range(5)]
    assert not replies.closed


def test_a_request_for_aiohttp_pipelined_behind_another_closes_the_connection_after_the_first_answer(
    gateway, petition_upstream
):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/1") + _get("/healthz"))
        answers = replies.read(2)

    # Where the second request begins is not known here: it is left for the client to send again.
    assert [answer.status for answer in answers] == [200]
    assert replies.closed


def test_a_request_for_aiohttp_in_its_own_packet_behind_an_unanswered_one_waits_for_it(gateway, petition_upstream):
    petition_upstream.release.clear()
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/held/1"))
        _wait_for(lambda: petition_upstream.requests_to("/api/v1/petitions/held/1"))
        sock.sendall(_get("/healthz"))
        petition_upstream.release.set()
        held, page = replies.read(2)

    assert held.json["path"] == "/api/v1/petitions/held/1"
    assert page.json["status"] == "ok"


@pytest.mark.parametrize(
    ("request_bytes", "status", "kind"),
    [
        (_get("/api/v1/petitions/1", "X-Big: " + "a" * (MAX_FIELD_BYTES + 1)), 431, "header-too-large"),
        (_get("/api/v1/petitions/" + "a" * MAX_FIELD_BYTES), 414, "target-too-long"),
        (_get("/api/v1/petitions/1", *(f"X-N{n}: {n}" for n in range(MAX_HEADERS + 1))), 431, "too-many-headers"),
        (b"HELLO THERE\r\n\r\n", 400, "invalid-request"),
        (b"GET /api/v1/petitions/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, None),
    ],
    ids=["long-header", "long-target", "many-headers", "not-http", "two-lengths"],
)
def test_a_bad_head_is_refused_as_a_problem_and_the_connection_closed(
    gateway, petition_upstream, request_bytes, status, kind
):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(request_bytes)
        (reply,) = replies.read(1)
        assert replies.wait_closed()

    assert reply.status == status
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["connection"] == "close"
    if kind is not None:
        assert reply.json["type"].endswith(f"/{kind}")
    assert petition_upstream.requests_to("/api") == []


def test_a_head_larger_than_the_limit_in_many_packets_is_refused(gateway, petition_upstream):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(b"GET /api/v1/petitions/1 HTTP/1.1\r\nHost: a\r\n")
        try:
            for n in range(40):  # 40 x 4 KiB lines: over the 64 KiB a head may have, under the line limits
                sock.sendall(f"X-Part-{n}: {'b' * 4000}\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed before the last lines were sent
        (reply,) = replies.read(1)

    assert reply.status == 431
    assert reply.json["type"].endswith("/head-too-large")


def test_http_1_0_is_answered_in_kind_and_closed_unless_kept_alive(gateway, petition_upstream):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/1", version="1.0"))
        (reply,) = replies.read(1)
        assert replies.wait_closed()
    assert (reply.version, reply.status) == ("1.0", 200)

    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/1", "Connection: keep-alive", version="1.0"))
        replies.read(1)
        sock.sendall(_get("/api/v1/petitions/2", "Connection: keep-alive", version="1.0"))
        first, second = replies.read(2)
    assert first.headers["connection"] == "keep-alive"
    assert second.json["path"] == "/api/v1/petitions/2"


def test_a_body_of_known_length_is_sent_on_whole(gateway, petition_upstream):
    body = b"x" * 1000
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(
            b"POST /api/v1/petitions HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        (reply,) = replies.read(1)

    assert reply.json["body_bytes"] == 1000
    assert petition_upstream.requests_to("/api/v1/petitions")[-1].body == body
    assert _edge(gateway).fast_requests == 1


def test_chunked_uploads_and_expect_continue_go_to_aiohttp(gateway, petition_upstream):
    edge = _edge(gateway)
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(
            b"POST /api/v1/petitions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        (chunked,) = replies.read(1)
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(b"POST /api/v1/petitions HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        sock.settimeout(WAIT_SECONDS)
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"hello")
        (expecting,) = replies.read(1)

    assert (chunked.json["body_bytes"], expecting.json["body_bytes"]) == (5, 5)
    assert (edge.fast_requests, edge.inner.requests_count) == (0, 2)


@pytest.mark.parametrize("path", ["/api/v1/petitions/large", "/api/v1/petitions/large-chunked"])
def test_a_large_answer_is_streamed_with_its_framing(gateway, petition_upstream, path):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get(path))
        sock.sendall(_get("/api/v1/petitions/after"))
        large, after = replies.read(2)
    assert bytes(large.body) == LARGE_BODY
    assert large.headers["content-type"] == "application/pdf"
    assert after.json["path"] == "/api/v1/petitions/after"

    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get(path, version="1.0"))
        (old,) = replies.read(1)
        assert replies.wait_closed()  # HTTP/1.0 without keep-alive; without a length, the close ends the body
    assert bytes(old.body) == LARGE_BODY


def test_a_head_request_gets_the_upstreams_length_and_no_body(gateway, petition_upstream):
    sock, _replies = _connect(gateway)  # read raw: llhttp cannot know the first answer is to a HEAD
    with sock:
        sock.sendall(_get("/api/v1/petitions/1").replace(b"GET", b"HEAD", 1) + _get("/api/v1/petitions/2"))
        data = b""
        sock.settimeout(WAIT_SECONDS)
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}"):
            data += sock.recv(65536)

    head_answer, get_answer = data.split(b"HTTP/1.1 200", 2)[1:]
    assert b"Content-Length: " in head_answer
    assert head_answer.endswith(b"\r\n\r\n")  # nothing after the head
    assert b'"/api/v1/petitions/2"' in get_answer


def test_an_answer_without_a_body_is_written_without_one_and_the_connection_goes_on(gateway, petition_upstream):
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(
            b"POST /api/v1/petitions/no-content HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
            + _get("/api/v1/petitions/after")
        )
        emptied, after = replies.read(2)

    assert (emptied.status, bytes(emptied.body)) == (204, b"")
    assert "transfer-encoding" not in emptied.headers and "content-length" not in emptied.headers
    assert after.json["path"] == "/api/v1/petitions/after"  # nothing stray before the second answer


def test_an_idle_connection_is_closed_after_the_keep_alive_time(gateway, petition_upstream):
    _edge(gateway).keepalive_timeout = 0.2
    sock, replies = _connect(gateway)
    with sock:
        sock.sendall(_get("/api/v1/petitions/1"))
        replies.read(1)
        assert replies.wait_closed()  # well within the test's wait: nothing more was sent


def test_stopping_lets_the_request_in_hand_be_answered_then_closes(gateway: GatewayUnderTest, petition_upstream):
    petition_upstream.release.clear()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(requests.get, f"{gateway.url}/api/v1/petitions/held/stop", timeout=WAIT_SECONDS)
        _wait_for(lambda: petition_upstream.requests_to("/api/v1/petitions/held/stop"))
        stopping = asyncio.run_coroutine_threadsafe(gateway.runner.cleanup(), gateway.loop)
        _wait_for(lambda: _edge_is_stopping(gateway))
        petition_upstream.release.set()
        answer = pending.result(timeout=WAIT_SECONDS)
        stopping.result(timeout=WAIT_SECONDS)

    assert answer.status_code == 200
    assert answer.json()["path"] == "/api/v1/petitions/held/stop"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{gateway.url}/api/v1/petitions/1", timeout=WAIT_SECONDS)


def _edge_is_stopping(gateway: GatewayUnderTest) -> bool:
    connections = list(_edge(gateway).fast_connections)
    return bool(connections) and all(connection.parser is None for connection in connections)


def _wait_for(condition: object) -> None:
    done = threading.Event()
    for _ in range(int(WAIT_SECONDS / 0.02)):
        if condition():  # type: ignore[operator]
            return
        done.wait(0.02)
    raise AssertionError("the condition did not hold in time")
