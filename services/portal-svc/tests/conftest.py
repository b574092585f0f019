"""Fixtures for portal-svc's unit tests: the app on a migrated SQLite file, in front of a fake API.

``fake_api`` is a real HTTP server on loopback standing in for the gateway: tests script its
answers (``fake_api.answer("POST", "/api/v1/auth/login", 200, {...})``) and read what the portal
sent (``fake_api.requests``). The portal's integration with the real API is covered by the
browser tests (tests/browser).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_chassis.migrations import upgrade
from mai_chassis.testing import QuietHandler, send_json, serve_http
from portal import create_app
from portal.config import Settings

MIGRATIONS = Path(__file__).parents[1] / "src" / "portal" / "migrations"
SECRET = "test-secret-key-of-at-least-32-characters"


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
        """Queue an answer; the last queued answer for a path is repeated once the others are used."""
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
            if not queued:
                status, payload, headers = 404, {"type": "about:blank", "title": "Not Found", "status": 404}, {}
            else:
                status, payload, headers = queued.pop(0) if len(queued) > 1 else queued[0]
        if payload is None:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if status >= 400:
            headers = {**headers, "Content-Type": "application/problem+json"}
        send_json(handler, status, payload, headers=headers)


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            api.respond(self, "GET")

        def do_POST(self) -> None:
            api.respond(self, "POST")

    with serve_http(Handler) as url:
        api.url = url
        yield api


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "portal.db"
    upgrade(f"sqlite:///{path}", MIGRATIONS)
    return path


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path, fake_api: FakeApi) -> Iterator[Flask]:
    database_file = tmp_path / "portal.db"
    shutil.copy(migrated_template, database_file)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{database_file}",
        api_base_url=fake_api.url,
        secret_key=SECRET,
        session_cookie_secure=False,
        log_json=False,
    )
    app = create_app(settings)
    yield app
    app.extensions["mai_database"].dispose()
    app.extensions["mai_webkit"].api.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
