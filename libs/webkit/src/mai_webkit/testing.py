"""Test helpers of the web front ends: a scriptable stand-in for the API, CSRF tokens, token pairs.

``FakeApi`` is a real HTTP server on loopback standing in for the gateway: a test scripts its
answers (``fake_api.answer("POST", "/api/v1/auth/login", 200, {...})``) and reads what the front
end sent (``fake_api.sent("POST", path)``). The ``fake_api`` fixture serves one per test::

    from mai_webkit.testing import fake_api  # noqa: F401 (a fixture)
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from mai_chassis.testing import QuietHandler, send_json, serve_http

__all__ = ["FakeApi", "SentRequest", "csrf_token_of", "fake_api", "staff_token", "tokens"]


@dataclass
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApi:
    url: str = ""
    answers: dict[tuple[str, str], list[tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)
    requests: list[SentRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path: str, status: int, body: Any = None, **headers: str) -> None:
        """Queue an answer; the last queued answer for a path is repeated once the others are used.
        ``body`` may be ``bytes`` (sent as it is, with the ``Content-Type`` header given)."""
        self.answers.setdefault((method, path), []).append((status, body, headers))

    def sent(self, method: str, path: str) -> list[SentRequest]:
        return [r for r in self.requests if r.method == method and r.path.split("?")[0] == path]

    def respond(self, handler: QuietHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path
        with self.lock:
            self.requests.append(SentRequest(method, path, dict(handler.headers.items()), body))
            queued = self.answers.get((method, path.split("?")[0]))
            headers: dict[str, str] = {}
            if not queued:
                status, payload = 404, {"type": "about:blank", "title": "Not Found", "status": 404}
            else:
                status, payload, headers = queued.pop(0) if len(queued) > 1 else queued[0]
        if payload is None or isinstance(payload, bytes):
            content = payload or b""
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name.replace("_", "-"), value)
            handler.send_header("Content-Length", str(len(content)))
            handler.end_headers()
            handler.wfile.write(content)
            return
        if status >= 400:
            headers = {**headers, "Content-Type": "application/problem+json"}
        send_json(handler, status, payload, headers=headers)


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the standard library names it)
            api.respond(self, "GET")

        def do_POST(self) -> None:  # noqa: N802
            api.respond(self, "POST")

        def do_DELETE(self) -> None:  # noqa: N802
            api.respond(self, "DELETE")

        def do_PUT(self) -> None:  # noqa: N802
            api.respond(self, "PUT")

    with serve_http(Handler) as url:
        api.url = url
        yield api


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form on the page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def tokens(
    access: str = "access-token-1", refresh: str = "refresh-token-000000000001", expires_in: int = 300
) -> dict[str, Any]:
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": expires_in}


def staff_token(*roles: str, subject: str = "staff-1", kind: str = "staff") -> str:
    """An unsigned JWT-shaped access token with these claims (``"petition_clerk@IGPR"`` ...): front ends
    read claims only to choose what to show; the fake API does not check it."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return ".".join([part({"alg": "none"}), part({"sub": subject, "kind": kind, "roles": list(roles)}), "x"])


def migrated_sessions_file(directory: Path, name: str) -> Path:
    """A SQLite file with webkit's session tables, to copy for each test (``name``: its file name)."""
    from mai_chassis.migrations import upgrade

    from .sessions import SESSIONS_MIGRATIONS

    path = directory / name
    upgrade(f"sqlite:///{path}", SESSIONS_MIGRATIONS)
    return path


@contextmanager
def site_app(
    create_app: Callable[[Any], Flask],
    settings_class: Any,
    *,
    template: Path,
    directory: Path,
    api_url: str,
    secret: str,
) -> Iterator[Flask]:
    """A site's app (portal, console) on its own copy of ``template``, in front of the API at ``api_url``."""
    database_file = directory / template.name
    shutil.copy(template, database_file)
    settings = settings_class(
        environment="test",
        database_url=f"sqlite:///{database_file}",
        api_base_url=api_url,
        secret_key=secret,
        session_cookie_secure=False,
        log_json=False,
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        app.extensions["mai_database"].dispose()
        app.extensions["mai_webkit"].api.close()


@dataclass(frozen=True)
class SiteUnderTest:
    """What the site fixtures below need from a site's conftest (its ``site_under_test`` fixture)."""

    create_app: Callable[[Any], Flask]
    settings_class: Any
    database_name: str
    secret: str


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory, site_under_test: SiteUnderTest) -> Path:
    """The session tables in a SQLite file, migrated once per test session and copied for each app."""
    return migrated_sessions_file(tmp_path_factory.mktemp("template"), site_under_test.database_name)


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path, fake_api: FakeApi, site_under_test: SiteUnderTest) -> Iterator[Flask]:
    """The site's app on its own copy of the session tables, in front of ``fake_api``."""
    site = site_under_test
    with site_app(
        site.create_app,
        site.settings_class,
        template=migrated_template,
        directory=tmp_path,
        api_url=fake_api.url,
        secret=site.secret,
    ) as built:
        yield built


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()
