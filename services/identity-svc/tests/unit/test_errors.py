"""Every domain error of identity-svc has its problem type, with the answers clients already rely on."""

from __future__ import annotations

import pytest
from identity import errors
from identity.errors import PROBLEMS, IdentityError, IdentityLocked, ProviderUnreachable, TooManyFailedLogins
from mai_chassis.problems import PROBLEM_TYPE_BASE, problem_for

pytestmark = pytest.mark.unit


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found | {deeper for sub in found for deeper in _subclasses(sub)}


def test_the_table_names_every_error_the_handlers_can_raise() -> None:
    declared = {
        value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, IdentityError)
    }

    assert declared - {IdentityError} == set(PROBLEMS) == _subclasses(IdentityError)


def test_a_throttled_login_is_a_429_with_retry_after_in_the_header_and_the_body() -> None:
    problem = problem_for(TooManyFailedLogins(7), PROBLEMS)

    assert (problem.status, problem.headers) == (429, {"Retry-After": "7"})
    body = problem.to_dict()
    assert body["type"] == PROBLEM_TYPE_BASE + "login-throttled" and body["retry_after"] == 7
    assert body["title"] == "Too Many Requests" and body["detail"].startswith("Too many failed logins")


def test_an_unreachable_provider_asks_to_retry_in_thirty_seconds() -> None:
    problem = problem_for(ProviderUnreachable(), PROBLEMS)

    assert (problem.status, problem.kind, problem.headers) == (503, "provider-unavailable", {"Retry-After": "30"})


def test_a_locked_identity_field_names_the_fields_and_the_reason() -> None:
    body = problem_for(IdentityLocked("locked", fields=["cnp"], reason="verified"), PROBLEMS).to_dict()

    assert (body["status"], body["fields"], body["reason"]) == (409, ["cnp"], "verified")
    assert body["type"] == PROBLEM_TYPE_BASE + "identity-locked"
