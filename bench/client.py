"""The load generator's HTTP client: keep-alive connections over ``http.client``, one set per thread.

The load generator shares the machine's cores with the platform it measures, so every millisecond
it spends is one the platform does not get. ``requests`` costs about 0.38 ms of CPU per call
(sessions, hooks, cookie jars, adapters); this client costs about 0.1 ms for the same request and
answers with the parts of ``requests``' interface the benchmarks use (``status_code``, ``json()``,
``text``, ``headers``, ``url``, ``request.method``). Failures raise ``requests``' own exceptions,
so callers keep catching ``requests.RequestException``.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["Client", "Response"]

_RETRYABLE_ON_STALE_CONNECTION = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str


class Response:
    """An answer read whole (the benchmarks' answers are small)."""

    def __init__(self, method: str, url: str, status: int, headers: http.client.HTTPMessage, content: bytes) -> None:
        self.request = SentRequest(method, url)
        self.url = url
        self.status_code = status
        self.headers = headers  # case-insensitive lookups, like requests'
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} for {self.request.method} {self.url}")


class Client:
    """Keep-alive HTTP/1.1 connections, one per host; not shared between threads."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def get(self, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None) -> Response:
        return self.request("GET", url, headers=headers, timeout=timeout)

    def post(
        self,
        url: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        return self.request("POST", url, json=json, data=data, headers=headers, timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent_headers = dict(headers or {})
        body: bytes | None
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        else:
            body = data.encode() if isinstance(data, str) else data
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        key = (parts.scheme, parts.hostname, port)
        limit = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            connection = self._connections.get(key)
            reused = connection is not None and connection.sock is not None
            if connection is None:
                connection = self._connect(key, limit)
            elif connection.sock is not None:
                connection.sock.settimeout(limit)
            try:
                connection.request(method, target, body=body, headers=sent_headers)
                answer = connection.getresponse()
                content = answer.read()
            except TimeoutError as exc:
                self._drop(key)
                raise requests.Timeout(f"{method} {url}: no answer within {limit:g} s") from exc
            except (http.client.HTTPException, OSError) as exc:
                self._drop(key)
                # A kept-alive connection the server had just closed: safe to send again only if idempotent.
                if attempt == 1 and reused and method in _RETRYABLE_ON_STALE_CONNECTION:
                    continue
                raise requests.ConnectionError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
            if answer.will_close:
                self._drop(key)
            return Response(method, url, answer.status, answer.headers, content)
        raise AssertionError("unreachable")

    def _connect(self, key: tuple[str, str, int], timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = key
        factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = factory(host, port, timeout=timeout)
        try:
            connection.connect()
        except OSError as exc:
            raise requests.ConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        if connection.sock is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connections[key] = connection
        return connection

    def _drop(self, key: tuple[str, str, int]) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
