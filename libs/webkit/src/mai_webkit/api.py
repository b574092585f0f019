"""The public API as a web front end calls it: through the gateway, on behalf of one citizen.

Every call carries the citizen's address (``X-Forwarded-For``, so the gateway's per-client rate
limits apply per citizen and not to the front end as a whole), the request id and trace of the
page being served. Failures arrive as exceptions::

    ApiError
    ├── ApiProblem       the API answered 4xx/5xx (its problem+json is in ``.problem``)
    └── ApiUnavailable   the API could not be reached or did not answer in time

The session's access token is sent when ``authenticated=True``; an expired one is refreshed once
with the refresh token (:mod:`mai_webkit.auth`) and the call repeated.

A pooled keep-alive connection can be closed by the gateway (its idle timeout) just as a request is
sent on it: the request then meets a closed or reset connection before any byte of an answer. Such a
request is sent once more on a fresh connection when repeating it is safe: a GET, HEAD or OPTIONS,
or a request that carries an ``Idempotency-Key`` (the API answers a repeat with the first answer).
Nothing else is repeated: a POST without a key may have been acted on.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from flask import current_app, g, has_request_context, request
from requests.adapters import HTTPAdapter

__all__ = ["ApiClient", "ApiError", "ApiProblem", "ApiUnavailable", "PublicCache", "api", "public_json"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_CACHE_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 2.0
#: Methods that are safe to send twice (RFC 9110, 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiError(Exception):
    """The API call did not give the answer the page needs."""


class ApiProblem(ApiError):
    """An RFC 9457 problem answered by the API (or the gateway in front of it)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        super().__init__(f"{status} {self.problem.get('type', '')}")

    @property
    def kind(self) -> str:
        """The problem type's last segment (``.../problems/not-found`` -> ``not-found``)."""
        return str(self.problem.get("type", "")).rstrip("/").rsplit("/", 1)[-1]

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """``errors`` of a 422 flattened to ``{"field": ["message", ...]}`` (nested names dotted)."""
        flat: dict[str, list[str]] = {}

        def walk(node: Any, path: str) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    walk(value, f"{path}.{key}" if path else str(key))
            elif isinstance(node, list) and all(isinstance(item, str) for item in node):
                flat.setdefault(path or "_schema", []).extend(node)
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, f"{path}.{index}" if path else str(index))
            elif node is not None:
                flat.setdefault(path or "_schema", []).append(str(node))

        walk(self.problem.get("errors") or {}, "")
        return flat


class ApiUnavailable(ApiError):
    """The gateway could not be reached, or did not answer in time."""


class ApiClient:
    """A pooled HTTP client for one API base URL (the gateway's internal address)."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, pool_size: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment between us and the gateway
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        repeatable: bool = False,
    ) -> requests.Response:
        """Send one request; a 4xx/5xx answer raises :class:`ApiProblem`.

        ``repeatable=True`` marks a POST that only reads (sent as a POST so that what the citizen
        typed stays out of the URL): like a GET, it is sent again if the connection was closed
        before any answer.
        """
        sent = dict(headers or {})
        sent.update(_context_headers())
        if token:
            sent["Authorization"] = f"Bearer {token}"
        repeatable = files is None and (repeatable or method.upper() in SAFE_METHODS or "Idempotency-Key" in sent)
        attempts = 2 if repeatable else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    json=json,
                    data=data,
                    files=files,
                    params=params,
                    headers=sent,
                    timeout=(CONNECT_TIMEOUT_SECONDS, timeout or self.timeout),
                    allow_redirects=False,
                )
                break
            except requests.RequestException as exc:
                if attempt < attempts and _closed_before_answer(exc):
                    # The path only: a query string may hold what the citizen typed.
                    logger.info("API %s %s: kept-alive connection closed, sent again", method, path.split("?", 1)[0])
                    continue
                logger.warning("API %s %s unreachable: %s", method, path.split("?", 1)[0], exc.__class__.__name__)
                raise ApiUnavailable(exc.__class__.__name__) from None
        if response.status_code >= 400:
            raise ApiProblem(response.status_code, _problem_of(response))
        return response

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> requests.Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> requests.Response:
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> requests.Response:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> requests.Response:
        return self.request("DELETE", path, **options)

    def close(self) -> None:
        self.session.close()


def _closed_before_answer(exc: requests.RequestException) -> bool:
    """Whether the connection was closed or reset before any byte of an answer arrived.

    Timeouts are not: the API may be working on the request.
    """
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.Timeout):
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
            return True
        nested = [arg for arg in getattr(cause, "args", ()) if isinstance(arg, BaseException)]
        cause = cause.__cause__ or cause.__context__ or (nested[0] if nested else None)
    return False


def _context_headers() -> dict[str, str]:
    """The citizen's address, request id and trace of the page being served (outside a request: none)."""
    if not has_request_context():
        return {}
    headers = {"X-Forwarded-For": request.remote_addr or ""}
    request_id = g.get("request_id")
    if request_id:
        headers["X-Request-ID"] = request_id
    traceparent = g.get("traceparent")
    if traceparent:
        headers["traceparent"] = traceparent
    return {name: value for name, value in headers.items() if value}


def _problem_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"type": "about:blank", "title": response.reason or "Error", "status": response.status_code}


class PublicCache:
    """Answers of public, rarely changing API reads (the institutions directory) kept a short while.

    Per process; an entry is fetched again after ``ttl`` seconds. Only for data that is the same
    for every visitor: never for anything a token or a person's details were sent for.
    """

    def __init__(self, client: ApiClient, *, ttl: float = DEFAULT_CACHE_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_json(self, path: str) -> Any:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(path)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        document = self.client.get(path).json()
        with self._lock:
            self._entries[path] = (now, document)
        return document


def api() -> ApiClient:
    """The app's API client (set up by :func:`mai_webkit.init_webkit`)."""
    client: ApiClient = current_app.extensions["mai_webkit"].api
    return client


def public_json(path: str) -> Any:
    """A public API read (GET ``path``), shared by every visitor for a minute (:class:`PublicCache`)."""
    cache: PublicCache = current_app.extensions["mai_webkit"].public_cache
    return cache.get_json(path)
