"""Fixtures for portal-svc's unit tests: the app on a migrated SQLite file, in front of a fake API.

``fake_api`` (mai_webkit.testing) is a real HTTP server on loopback standing in for the gateway:
tests script its answers (``fake_api.answer("POST", "/api/v1/auth/login", 200, {...})``) and read
what the portal sent (``fake_api.requests``). The portal's integration with the real API is covered by the
browser tests (tests/browser).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mai_webkit.testing import FakeApi, SentRequest, csrf_token_of, fake_api, migrated_sessions_file, site_app, tokens
from portal import create_app
from portal.config import Settings

SECRET = "test-secret-key-of-at-least-32-characters"

__all__ = ["SECRET", "FakeApi", "SentRequest", "csrf_token_of", "fake_api", "tokens"]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sessions_file(tmp_path_factory.mktemp("template"), "portal.db")


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path, fake_api: FakeApi) -> Iterator[Flask]:
    with site_app(
        create_app, Settings, template=migrated_template, directory=tmp_path, api_url=fake_api.url, secret=SECRET
    ) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
