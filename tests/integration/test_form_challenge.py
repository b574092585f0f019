"""With FORM_CHALLENGE on, a client past the threshold gets 428 through the real gateway, a solved
proof of work lets the password-reset request through once (and its mail arrives), a replay is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from identity_testing import CITIZEN
from mai_chassis.challenges import PROOF_OF_WORK_HEADER, solve_proof_of_work
from mai_devtools import SmtpSink

pytestmark = pytest.mark.integration

CHALLENGE_ENV = {
    "FORM_CHALLENGE": "proof-of-work",
    "FORM_CHALLENGE_AFTER": "1",
    "FORM_CHALLENGE_KEY": "integration-tests-only-form-challenge-key-0123",
    "PROOF_OF_WORK_BITS": "10",
}


def test_past_the_threshold_a_password_reset_needs_a_solved_challenge_through_the_gateway(
    start_platform: Callable[..., Any], mail_sink: SmtpSink
) -> None:
    platform = start_platform(["identity", "notify"], extra_env=CHALLENGE_ENV)
    api = platform.gateway_url
    email = "ana.challenge@example.ro"
    registered = requests.post(f"{api}/api/v1/accounts", json={**CITIZEN, "email": email}, timeout=30)
    assert registered.status_code == 202, registered.text

    reset = {"email": email}
    asked = requests.post(f"{api}/api/v1/auth/password-reset", json=reset, timeout=30)
    assert asked.status_code == 428, asked.text
    assert asked.headers["Content-Type"].startswith("application/problem+json")
    challenge = asked.json()["challenge"]
    assert challenge["kind"] == "proof-of-work" and challenge["bits"] == 10

    solution = {PROOF_OF_WORK_HEADER: solve_proof_of_work(challenge)}
    accepted = requests.post(f"{api}/api/v1/auth/password-reset", json=reset, headers=solution, timeout=30)
    assert accepted.status_code == 202, accepted.text
    mail_sink.wait_for(lambda m: email in str(m["To"]) and "Resetarea parolei" in str(m["Subject"]), timeout=45)

    replayed = requests.post(f"{api}/api/v1/auth/password-reset", json=reset, headers=solution, timeout=30)
    assert replayed.status_code == 428, "a solution is accepted once"
