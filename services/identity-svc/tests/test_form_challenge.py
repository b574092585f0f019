"""The anonymous forms that create an account or send mail ask a client past a threshold for a
solved challenge, when one is configured; by default nobody is ever asked."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from identity import create_app
from identity.config import Settings
from identity.openapi import openapi_document
from identity_testing import CITIZEN
from mai_chassis import ConfigurationError
from mai_chassis.challenges import PROOF_OF_WORK_HEADER, solve_proof_of_work

CHALLENGE_KEY = "unit-tests-only-form-challenge-key-0123456789"
CLIENT = "198.51.100.20"
OTHER_CLIENT = "203.0.113.20"
CONFIRMATION_REQUESTED = "ro.mai.account.email_confirmation_requested.v1"
RESET_REQUESTED = "ro.mai.account.password_reset_requested.v1"


@pytest.fixture
def challenged_app(settings: Settings) -> Iterator[Flask]:
    """The app with FORM_CHALLENGE=proof-of-work after two forms per client (cheap 8-bit work)."""
    configured = dataclasses.replace(
        settings,
        form_challenge="proof-of-work",
        form_challenge_after=2,
        form_challenge_key=CHALLENGE_KEY,
        proof_of_work_bits=8,
    )
    application = create_app(configured)
    application.config["TESTING"] = True
    yield application
    application.extensions["mai_database"].dispose()


def _forms() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/v1/accounts", dict(CITIZEN)),
        ("/api/v1/accounts/email-confirmation/resend", {"email": CITIZEN["email"]}),
        ("/api/v1/auth/password-reset", {"email": CITIZEN["email"]}),
    ]


def _send(client: FlaskClient, path: str, body: dict[str, Any], address: str = CLIENT, **headers: str) -> Any:
    return client.post(path, json=body, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_by_default_no_client_is_ever_asked_for_a_challenge(client: FlaskClient) -> None:
    for _ in range(4):
        for path, body in _forms():
            answer = _send(client, path, body)
            assert answer.status_code == 202, answer.get_json()


@pytest.mark.parametrize("form", range(3), ids=["registration", "confirmation-resend", "password-reset"])
def test_past_the_threshold_each_form_needs_a_solved_challenge_accepted_once(challenged_app: Flask, form: int) -> None:
    client = challenged_app.test_client()
    path, body = _forms()[form]
    assert _send(client, path, body).status_code == 202
    assert _send(client, path, body).status_code == 202
    asked = _send(client, path, body)
    assert asked.status_code == 428
    assert asked.mimetype == "application/problem+json"
    problem = asked.get_json()
    assert problem["type"].endswith("/challenge-required")
    assert problem["challenge"]["kind"] == "proof-of-work" and problem["challenge"]["header"] == PROOF_OF_WORK_HEADER

    solution = solve_proof_of_work(problem["challenge"])
    assert _send(client, path, body, **{PROOF_OF_WORK_HEADER: solution}).status_code == 202
    replayed = _send(client, path, body, **{PROOF_OF_WORK_HEADER: solution})
    assert replayed.status_code == 428, "a solution is accepted once"
    forged = solution.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef:1"
    assert _send(client, path, body, **{PROOF_OF_WORK_HEADER: forged}).status_code == 428
    assert _send(client, path, body, address=OTHER_CLIENT).status_code == 202, "another client is not asked"


def test_the_three_forms_count_together_and_a_refused_one_sends_no_mail(
    challenged_app: Flask, published: Callable[[str], list[dict[str, Any]]]
) -> None:
    client = challenged_app.test_client()
    (register, resend, reset) = _forms()
    assert _send(client, *register).status_code == 202
    assert _send(client, *resend).status_code == 202
    resets_before = len(published(RESET_REQUESTED))
    assert _send(client, *reset).status_code == 428
    assert len(published(RESET_REQUESTED)) == resets_before, "nothing is mailed for a refused form"


def test_a_registration_refused_for_a_challenge_may_be_sent_again_with_the_same_idempotency_key(
    challenged_app: Flask,
) -> None:
    client = challenged_app.test_client()
    for n in range(2):
        assert _send(client, "/api/v1/auth/password-reset", {"email": f"x{n}@example.ro"}).status_code == 202
    key = {"Idempotency-Key": "registration-1"}
    asked = _send(client, "/api/v1/accounts", dict(CITIZEN), **key)
    assert asked.status_code == 428
    solution = solve_proof_of_work(asked.get_json()["challenge"])
    again = _send(client, "/api/v1/accounts", dict(CITIZEN), **key, **{PROOF_OF_WORK_HEADER: solution})
    assert again.status_code == 202, again.get_json()


def test_the_challenge_is_off_unless_configured_and_then_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("IDENTITY_ENCRYPTION_KEYS", "x" * 43 + "=")
    monkeypatch.setenv("EVENT_SEALING_KEYS", "x" * 43 + "=")
    assert Settings.from_env().form_challenge == "off"
    monkeypatch.setenv("FORM_CHALLENGE", "proof-of-work")
    with pytest.raises(ConfigurationError, match="FORM_CHALLENGE_KEY"):
        Settings.from_env()
    monkeypatch.setenv("FORM_CHALLENGE_KEY", CHALLENGE_KEY)
    assert Settings.from_env().form_challenge_key == CHALLENGE_KEY
    monkeypatch.setenv("FORM_CHALLENGE", "captcha-of-my-own")
    with pytest.raises(ConfigurationError, match="FORM_CHALLENGE"):
        Settings.from_env()


def test_the_openapi_document_names_the_428_and_the_proof_of_work_header() -> None:
    paths = openapi_document()["paths"]
    for path in ("/api/v1/accounts", "/api/v1/accounts/email-confirmation/resend", "/api/v1/auth/password-reset"):
        operation = paths[path]["post"]
        assert "428" in operation["responses"]
        assert any(p["name"] == PROOF_OF_WORK_HEADER and p["in"] == "header" for p in operation["parameters"])
    assert "428" not in paths["/api/v1/auth/login"]["post"]["responses"]
