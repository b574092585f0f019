"""The upstream client against scripted HTTP servers on loopback: what it sends, how it reads every
framing of an answer, when it keeps a connection and how each failure is named."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from gateway.upstream_client import (
    BUFFER_HIGH_WATER,
    MAX_HEAD_BYTES,
    Upstream,
    UpstreamClient,
    UpstreamFailure,
)
from mai_devtools.ports import free_port

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class ScriptedServer:
    """Answers each connection with ``script(reader, writer, connection_number)``; records requests."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def upstream(self) -> Upstream:
        return Upstream(f"http://127.0.0.1:{self.port}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + (await reader.readexactly(length) if length else b"")
        self.requests.append(request)
        return request


def run(coroutine: Awaitable[Any]) -> Any:
    async def with_deadline() -> Any:
        async with asyncio.timeout(20):
            return await coroutine

    return asyncio.run(with_deadline())


async def _get(client: UpstreamClient, upstream: Upstream, path: str = "/x", **options: Any) -> tuple[int, bytes]:
    answer = await client.request(
        upstream,
        options.pop("method", "GET"),
        path,
        options.pop("headers", [("X-Request-ID", "r-1")]),
        options.pop("body", None),
        connect_timeout=options.pop("connect_timeout", 1.0),
        read_timeout=options.pop("read_timeout", 2.0),
    )
    return answer.status, await answer.read()


def test_the_request_goes_out_as_one_head_with_host_and_the_body_and_the_connection_is_kept() -> None:
    async def scenario() -> None:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            while True:
                request = await server.read_request(reader)
                body = request.split(b"\r\n\r\n", 1)[1]
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\nX-Seen: yes\r\n\r\n%s" % (len(body), body))
                await writer.drain()

        server = ScriptedServer(echo)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            for n in range(3):
                answer = await client.request(
                    server.upstream,
                    "POST",
                    "/api/v1/petitions?x=%C8%99",
                    [("Content-Type", "application/json"), ("Content-Length", "7")],
                    b'{"n":%d}' % n,
                    connect_timeout=1,
                    read_timeout=2,
                )
                assert (answer.status, await answer.read()) == (201, b'{"n":%d}' % n)
                assert answer.header("x-seen") == "yes"
                assert answer.raw_headers == [(b"Content-Length", b"7"), (b"X-Seen", b"yes")]
            await client.close()
        host = server.upstream.host_header.encode()
        assert server.requests[0] == (
            b"POST /api/v1/petitions?x=%C8%99 HTTP/1.1\r\nHost: " + host + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 7\r\n\r\n" + b'{"n":0}'
        )
        assert server.connections == 1  # one kept-alive connection for the three requests

    run(scenario())


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", b"abcde"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    ],
    ids=["chunked", "no-content", "informational-first"],
)
def test_every_framing_of_a_kept_alive_answer_is_read_whole(answer: bytes, body: bytes) -> None:
    async def scenario() -> None:
        async def framed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            while True:
                await server.read_request(reader)
                writer.write(answer)
                await writer.drain()

        server = ScriptedServer(framed)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            first = await _get(client, server.upstream)
            second = await _get(client, server.upstream)
            await client.close()
        assert first[1] == second[1] == body
        assert server.connections == 1

    run(scenario())


def test_an_answer_without_a_length_ends_with_its_connection_which_is_not_reused() -> None:
    async def scenario() -> None:
        async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of ")
            await writer.drain()
            writer.write(b"it")
            await writer.drain()

        server = ScriptedServer(until_close)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            assert await _get(client, server.upstream) == (200, b"all of it")
            assert await _get(client, server.upstream) == (200, b"all of it")
            assert client.idle_connections() == 0
            await client.close()
        assert server.connections == 2

    run(scenario())


def test_an_answer_to_head_is_complete_without_the_body_it_announces() -> None:
    async def scenario() -> None:
        async def head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(5)

        server = ScriptedServer(head)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            assert await _get(client, server.upstream, method="HEAD") == (200, b"")
            await client.close()

    run(scenario())


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "cut short"),
        (b"", "closed at once"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n", "head too large"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-N: 1\r\n" * 200 + b"Content-Length: 0\r\n\r\n", "too many headers"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "two lengths"),
    ],
)
def test_a_broken_answer_is_a_bad_gateway_failure_and_its_connection_is_dropped(answer: bytes, what: str) -> None:
    async def scenario() -> None:
        async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(answer)
            await writer.drain()

        server = ScriptedServer(broken)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            with pytest.raises(UpstreamFailure) as failure:
                await _get(client, server.upstream)
            assert failure.value.kind == "bad_gateway", what
            assert client.idle_connections() == 0
            await client.close()

    run(scenario())


def test_no_answer_within_the_read_timeout_is_a_timeout_failure() -> None:
    async def scenario() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")  # half the body, then nothing
            await writer.drain()
            await asyncio.sleep(5)

        server = ScriptedServer(silent)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(UpstreamFailure) as failure:
                await _get(client, server.upstream, read_timeout=0.3)
            assert failure.value.kind == "timeout"
            assert 0.3 <= loop.time() - started < 2
            await client.close()

    run(scenario())


def test_a_closed_port_is_an_unavailable_failure() -> None:
    async def scenario() -> None:
        client = UpstreamClient(keepalive_seconds=4)
        with pytest.raises(UpstreamFailure) as failure:
            await _get(client, Upstream(f"http://127.0.0.1:{free_port()}"))
        assert failure.value.kind == "unavailable"

    run(scenario())


def test_a_connection_idle_for_longer_than_the_keepalive_is_not_used_again() -> None:
    async def scenario() -> None:
        async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            while True:
                await server.read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()

        server = ScriptedServer(keep)
        async with server:
            client = UpstreamClient(keepalive_seconds=0.2)
            await _get(client, server.upstream)
            await _get(client, server.upstream)
            await asyncio.sleep(0.3)
            await _get(client, server.upstream)
            await client.close()
        assert server.connections == 2

    run(scenario())


def test_a_connection_the_upstream_closed_while_idle_leaves_the_pool() -> None:
    async def scenario() -> None:
        async def one_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            # ... and the connection is closed, as a service's keep-alive timeout does.

        server = ScriptedServer(one_each)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            await _get(client, server.upstream)
            for _ in range(50):
                if client.idle_connections() == 0:
                    break
                await asyncio.sleep(0.01)
            assert client.idle_connections() == 0
            assert await _get(client, server.upstream) == (200, b"")
            await client.close()

    run(scenario())


def test_a_large_answer_is_read_as_it_is_consumed_and_arrives_whole() -> None:
    size = 4 * BUFFER_HIGH_WATER
    payload = bytes(range(256)) * (size // 256)

    async def scenario() -> None:
        async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            for offset in range(0, size, 65536):
                writer.write(payload[offset : offset + 65536])
                await writer.drain()
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

        server = ScriptedServer(large)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            answer = await client.request(server.upstream, "GET", "/pdf", [], None, connect_timeout=1, read_timeout=2)
            await asyncio.sleep(0.5)  # a slow client: the upstream must be held back, not buffered
            assert answer._waiting <= BUFFER_HIGH_WATER + 256 * 1024
            received = bytearray()
            async for chunk in answer.chunks():
                received += chunk
                await asyncio.sleep(0)
            assert bytes(received) == payload
            assert await _get(client, server.upstream) == (200, b"ok")  # the connection was kept
            await client.close()
        assert server.connections == 1

    run(scenario())


def test_a_request_body_sent_as_it_arrives_reaches_the_upstream_whole() -> None:
    parts = [bytes([n]) * 100_000 for n in range(5)]

    async def scenario() -> None:
        async def upload(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            request = await server.read_request(reader)
            received = b"%d" % len(request.split(b"\r\n\r\n", 1)[1])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(received), received))
            await writer.drain()

        async def stream() -> Any:
            for part in parts:
                await asyncio.sleep(0.01)
                yield part

        server = ScriptedServer(upload)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            answer = await client.request(
                server.upstream,
                "PUT",
                "/scan",
                [("Content-Length", str(sum(map(len, parts))))],
                stream(),
                connect_timeout=1,
                read_timeout=2,
            )
            assert (answer.status, await answer.read()) == (200, b"500000")
            await client.close()
        assert server.requests[0].split(b"\r\n\r\n", 1)[1] == b"".join(parts)

    run(scenario())


@pytest.mark.parametrize(
    "headers", [[("X-Evil", "a\r\nX-Injected: 1")], [("X-Evil\r\nX-Injected", "1")], [("Bad:Name", "1")]]
)
def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(headers: list[tuple[str, str]]) -> None:
    async def scenario() -> None:
        async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
            await server.read_request(reader)

        server = ScriptedServer(never)
        async with server:
            client = UpstreamClient(keepalive_seconds=4)
            with pytest.raises(ValueError):
                await _get(client, server.upstream, headers=headers)
            await client.close()
        assert server.requests == []

    run(scenario())


def test_an_upstream_address_is_parsed_once_with_its_default_port() -> None:
    assert (Upstream("http://petition-svc").port, Upstream("https://record-svc").port) == (80, 443)
    assert Upstream("http://petition-svc:8000").host_header == "petition-svc:8000"
    with pytest.raises(ValueError):
        Upstream("ftp://petition-svc")
