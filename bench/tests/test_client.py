"""The load generator's client: keep-alive, bodies, errors as ``requests`` exceptions, stale connections."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from mai_chassis.testing import QuietHandler, send_json, serve_http

from bench.client import Client


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    connections: set[int] = set()

    def _answer(self, status: int, payload: dict[str, object], *, close: bool = False) -> None:
        headers = {"X-Echo": self.headers.get("X-Echo", "")} | ({"Connection": "close"} if close else {})
        send_json(self, status, payload, headers=headers)
        if close:
            self.close_connection = True

    def do_GET(self) -> None:
        type(self).connections.add(self.client_address[1])
        if self.path == "/close":
            self._answer(200, {"closing": True}, close=True)
        elif self.path == "/drop":  # closes after answering without saying so: a stale keep-alive
            self._answer(200, {"dropping": True})
            self.close_connection = True
        elif self.path == "/hang":
            threading.Event().wait(2)
        else:
            self._answer(200, {"path": self.path})

    def do_POST(self) -> None:
        type(self).connections.add(self.client_address[1])
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(201, {"type": self.headers.get("Content-Type"), "body": body.decode()})


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.connections = set()
    with serve_http(_Handler) as url:
        yield url


def test_requests_share_one_kept_alive_connection_and_bodies_arrive(server: str) -> None:
    with Client() as client:
        first = client.get(f"{server}/a?x=1", headers={"X-Echo": "ping"})
        posted = client.post(f"{server}/b", json={"nume": "Ștefan"})
        raw = client.post(f"{server}/c", data=b"plain", headers={"Content-Type": "text/plain"})
    assert (first.status_code, first.json(), first.headers["x-echo"]) == (200, {"path": "/a?x=1"}, "ping")
    assert first.request.method == "GET" and first.url == f"{server}/a?x=1"
    assert posted.status_code == 201
    assert posted.json() == {"type": "application/json", "body": json.dumps({"nume": "Ștefan"}, separators=(",", ":"))}
    assert raw.json() == {"type": "text/plain", "body": "plain"}
    assert len(_Handler.connections) == 1


def test_a_connection_the_server_closes_is_replaced(server: str) -> None:
    with Client() as client:
        assert client.get(f"{server}/close").json() == {"closing": True}
        assert client.get(f"{server}/after").status_code == 200
    assert len(_Handler.connections) == 2


def test_a_silently_dropped_connection_is_retried_for_get_but_not_for_post(server: str) -> None:
    with Client() as client:
        client.get(f"{server}/drop")
        assert client.get(f"{server}/after").status_code == 200
        client.get(f"{server}/drop")
        with pytest.raises(requests.ConnectionError):
            client.post(f"{server}/not-sent-twice", json={})
        assert client.post(f"{server}/then", json={}).status_code == 201


def test_failures_are_requests_exceptions(server: str) -> None:
    with Client() as client:
        with pytest.raises(requests.Timeout):
            client.get(f"{server}/hang", timeout=0.2)
        assert client.get(f"{server}/again").status_code == 200  # a fresh connection after the timeout
        with pytest.raises(requests.ConnectionError):
            client.get("http://127.0.0.1:9/refused")
        with pytest.raises(requests.RequestException):
            client.get("ftp://127.0.0.1/file")
