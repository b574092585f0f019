"""What the gateway's forwarding shares: the header rules, and ``requests`` sessions for its own calls.

Forwarding itself is :mod:`gateway.edge` (aiohttp, on the event loop). The gateway's own calls to
the upstreams — health probes for ``/readyz`` and their OpenAPI documents — are made from the
Flask side with a ``requests`` session per upstream (:class:`Upstreams`), which never keeps a
cookie and reads nothing from the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

__all__ = ["DROPPED_RESPONSE_HEADERS", "HOP_BY_HOP_HEADERS", "Upstreams", "forwarded_request_headers"]

#: RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies still meet.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself, whatever the client sent.
_REPLACED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-real-ip",
        "x-request-id",
        "traceparent",
    }
)
# The gateway owns CORS; an upstream's own CORS answer would contradict it.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-max-age",
        "server",
        "date",
    }
)
#: What a forwarded request never carries from the client.
_DROPPED_REQUEST_HEADERS = HOP_BY_HOP_HEADERS | _REPLACED_REQUEST_HEADERS


class _RefuseAllCookies(DefaultCookiePolicy):
    """The sessions are shared by every citizen: an upstream's cookie must never be kept."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class Upstreams:
    """Per upstream base URL, created on first use: a ``requests`` session for the gateway's own calls."""

    def __init__(self, *, pool_size: int) -> None:
        self.pool_size = pool_size
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def session(self, upstream: str) -> requests.Session:
        session = self._sessions.get(upstream)
        if session is None:
            with self._lock:
                session = self._sessions.get(upstream)
                if session is None:
                    session = self._sessions[upstream] = self._new_session()
        return session

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no proxy, netrc or CA settings picked up from the environment
        session.cookies = CookieJar(policy=_RefuseAllCookies())  # type: ignore[assignment]
        session.headers.clear()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.pool_size, max_retries=0, pool_block=False)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()


def forwarded_request_headers(
    incoming: Iterable[tuple[str, str]],
    *,
    client_address: str,
    scheme: str,
    host: str,
    request_id: str,
    traceparent: str,
) -> dict[str, str]:
    """The client's end-to-end headers plus the gateway's X-Forwarded-*, request id and trace context.

    ``X-Forwarded-For`` carries the one client address the gateway vouches for (after its own
    trusted proxies), never a chain the client could have written.
    """
    headers: dict[str, str] = {}
    connection: list[str] = []
    for name, value in incoming:
        lowered = name.lower()
        if lowered not in _DROPPED_REQUEST_HEADERS:
            headers[name] = value
        elif lowered == "connection":
            connection.append(value)
    # Headers the client's Connection names are hop-by-hop too (usually it names only keep-alive).
    named_by_connection = {token.strip().lower() for value in connection for token in value.split(",")}
    named_by_connection -= _DROPPED_REQUEST_HEADERS
    if named_by_connection:
        headers = {name: value for name, value in headers.items() if name.lower() not in named_by_connection}
    headers["X-Forwarded-For"] = client_address
    headers["X-Forwarded-Proto"] = scheme
    headers["X-Forwarded-Host"] = host
    headers["X-Request-ID"] = request_id
    headers["traceparent"] = traceparent
    return headers
