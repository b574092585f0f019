"""Fixtures for portal-svc's unit tests: the app on a migrated SQLite file, in front of a fake API.

``fake_api`` (mai_webkit.testing) is a real HTTP server on loopback standing in for the gateway:
tests script its answers (``fake_api.answer("POST", "/api/v1/auth/login", 200, {...})``) and read
what the portal sent (``fake_api.requests``). The portal's integration with the real API is covered by the
browser tests (tests/browser).
"""

from __future__ import annotations

import pytest
from mai_webkit.testing import (
    FakeApi,
    SentRequest,
    SiteUnderTest,
    app,
    client,
    csrf_token_of,
    fake_api,
    migrated_template,
    tokens,
)
from portal import create_app
from portal.config import Settings

SECRET = "test-secret-key-of-at-least-32-characters"

__all__ = [
    "SECRET",
    "FakeApi",
    "SentRequest",
    "app",
    "client",
    "csrf_token_of",
    "fake_api",
    "migrated_template",
    "tokens",
]


@pytest.fixture(scope="session")
def site_under_test() -> SiteUnderTest:
    """The app, client and migrated_template fixtures (mai_webkit.testing) build portal-svc."""
    return SiteUnderTest(create_app, Settings, "portal.db", SECRET)
