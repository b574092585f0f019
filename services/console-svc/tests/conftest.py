"""Fixtures for console-svc's unit tests: the app on a migrated SQLite file, in front of a fake API.

``fake_api`` (mai_webkit.testing) stands in for the gateway: tests script its answers and read what
the console sent. The console against the real platform is tested in tests/browser/console.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console import create_app
from console.config import Settings
from flask.testing import FlaskClient
from mai_webkit.testing import (
    FakeApi,
    SiteUnderTest,
    app,
    client,
    csrf_token_of,
    fake_api,
    migrated_template,
    staff_token,
    tokens,
)

SECRET = "test-secret-key-of-at-least-32-characters"
PREFIX = "/staff"
#: identity-svc's answer to a staff member's right password: a code must follow.
SECOND_FACTOR_CHALLENGE = {
    "challenge_token": "challenge-token-of-the-password-step-0001",
    "step": "second_factor",
    "expires_in": 300,
    "methods": ["totp", "recovery_code"],
}

__all__ = [
    "PREFIX",
    "SECOND_FACTOR_CHALLENGE",
    "SECRET",
    "FakeApi",
    "app",
    "client",
    "csrf_token_of",
    "fake_api",
    "migrated_template",
    "sign_in_as",
    "staff_token",
    "tokens",
]


@pytest.fixture(scope="session")
def site_under_test() -> SiteUnderTest:
    """The app, client and migrated_template fixtures (mai_webkit.testing) build console-svc."""
    return SiteUnderTest(create_app, Settings, "console.db", SECRET)


def sign_in_as(client: FlaskClient, fake_api: FakeApi, *roles: str, subject: str = "staff-1", kind: str = "staff"):  # type: ignore[no-untyped-def]
    """Sign in through the sign-in page as a member holding ``roles`` (``"petition_clerk@IGPR"``): the
    password, then (a staff account) the code of the authenticator app; the last page's answer."""
    pair = tokens(access=staff_token(*roles, subject=subject, kind=kind))
    if kind != "staff":
        fake_api.answer("POST", "/api/v1/auth/login", 200, pair)
    else:
        fake_api.answer("POST", "/api/v1/auth/login", 200, SECOND_FACTOR_CHALLENGE)
        fake_api.answer("POST", "/api/v1/auth/second-factor", 200, pair)
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in").get_data(as_text=True))
    answer = client.post(
        f"{PREFIX}/sign-in", data={"csrf_token": token, "email": "clerk@mai.gov.ro", "password": "correct horse"}
    )
    if kind != "staff" or answer.status_code != 303 or not answer.headers["Location"].endswith("/sign-in/code"):
        return answer
    token = csrf_token_of(client.get(f"{PREFIX}/sign-in/code").get_data(as_text=True))
    return client.post(f"{PREFIX}/sign-in/code", data={"csrf_token": token, "code": "123456"})


@pytest.fixture
def signed_in(client: FlaskClient, fake_api: FakeApi) -> Callable[..., FlaskClient]:
    def sign(*roles: str, subject: str = "staff-1") -> FlaskClient:
        answer = sign_in_as(client, fake_api, *roles, subject=subject)
        assert answer.status_code == 303, answer.get_data(as_text=True)
        return client

    return sign
