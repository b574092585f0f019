"""The API client against a real HTTP server that closes kept-alive connections.

The server answers the first request on each connection with ``Connection: keep-alive`` and then,
like a gateway whose idle keep-alive timer fires just as the next request arrives, closes that
connection on the next request without answering. No timing is involved: every second request
on a connection meets a connection closed before any byte of an answer.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from mai_webkit.api import ApiClient, ApiUnavailable


class ClosingServer:
    """Answers one request per connection, then closes the connection on the next one."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answered: list[str] = []
        self.dropped: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return ""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        return head.split(b"\r\n", 1)[0].decode()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            first = self._read_request(conn)
            if not first:
                return
            with self._lock:
                self.answered.append(first)
            body = b'{"ok": true}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(body), body)
            )
            second = self._read_request(conn)
            if second:
                with self._lock:
                    self.dropped.append(second)
            # Closed with no answer: what the client sees when the keep-alive timeout won the race.

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[ClosingServer]:
    running = ClosingServer()
    yield running
    running.close()


@pytest.fixture
def client(server: ClosingServer) -> Iterator[ApiClient]:
    api = ApiClient(f"http://127.0.0.1:{server.port}", timeout=5.0, pool_size=1)
    yield api
    api.close()


def test_a_read_on_a_connection_closed_by_the_server_is_sent_again_on_a_fresh_one(
    server: ClosingServer, client: ApiClient
) -> None:
    assert client.get("/api/v1/institutions").json() == {"ok": True}

    assert client.get("/api/v1/institutions").json() == {"ok": True}

    assert server.dropped == ["GET /api/v1/institutions HTTP/1.1"]
    assert server.answered == ["GET /api/v1/institutions HTTP/1.1"] * 2


def test_a_post_with_an_idempotency_key_is_sent_again_on_a_fresh_connection(
    server: ClosingServer, client: ApiClient
) -> None:
    client.get("/api/v1/institutions")

    answer = client.post("/api/v1/petitions", json={"subject": "x"}, headers={"Idempotency-Key": "k-1"})

    assert answer.json() == {"ok": True}
    assert server.answered[-1] == "POST /api/v1/petitions HTTP/1.1"
    assert server.dropped == ["POST /api/v1/petitions HTTP/1.1"]


def test_a_post_without_an_idempotency_key_is_not_repeated(server: ClosingServer, client: ApiClient) -> None:
    client.get("/api/v1/institutions")

    with pytest.raises(ApiUnavailable):
        client.post("/api/v1/petitions/status", json={"number": "MAI-1"})

    assert server.dropped == ["POST /api/v1/petitions/status HTTP/1.1"]
    assert server.answered == ["GET /api/v1/institutions HTTP/1.1"]


def test_a_post_that_only_reads_is_sent_again_when_marked_repeatable(server: ClosingServer, client: ApiClient) -> None:
    client.get("/api/v1/institutions")

    answer = client.post("/api/v1/petitions/status-lookup", json={"registration_number": "MAI-1"}, repeatable=True)

    assert answer.json() == {"ok": True}
    assert server.dropped == ["POST /api/v1/petitions/status-lookup HTTP/1.1"]
