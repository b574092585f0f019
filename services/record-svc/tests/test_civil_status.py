"""Reading the applicant's civil status from identity-svc's internal endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mai_chassis.testing import QuietHandler, send_json, serve_http
from record.civil_status import IdentityCivilStatusClient, parse_civil_status
from record.errors import PROBLEMS, CivilStatusUnavailable, CivilStatusUnreadable, IdentityServiceDown
from record.testing import make_cnp

#: What identity-svc answers (its CivilStatusForRecord schema): the verified identity and the
#: citizen's own, unverified profile fields.
IDENTITY_ANSWER = {
    "citizen_id": "6c1d2a8e-90b4-4f0e-8f59-3b7c9d2e4a11",
    "email": "ana.popescu@example.ro",
    "last_name": "Popescu",
    "first_name": "Ana",
    "cnp": "",
    "birth_date": "1990-05-17",
    "birth_place": None,
    "father_first_name": None,
    "mother_first_name": "Maria",
    "citizenship": "RO",
    "address": "Str. Inventată nr. 1",
    "assurance_level": "substantial",
    "verified": True,
    "verified_at": "2025-03-14T09:10:00+00:00",
}


@contextmanager
def _identity(status: int, body: Any, seen: list[str]) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            send_json(self, status, body)

    with serve_http(Handler) as url:
        yield url


def test_identity_svc_answer_is_read_with_the_citizens_own_token() -> None:
    seen: list[str] = []
    answer = {**IDENTITY_ANSWER, "cnp": make_cnp()}
    with _identity(200, answer, seen) as url:
        person = IdentityCivilStatusClient(url).fetch("citizen-token")
    assert seen == ["Bearer citizen-token"]
    assert person.cnp == answer["cnp"]
    assert person.email == "ana.popescu@example.ro"
    assert (person.last_name, person.first_name, str(person.birth_date)) == ("Popescu", "Ana", "1990-05-17")


def test_only_the_verified_identity_is_read_never_what_the_citizen_typed_into_the_profile() -> None:
    person = parse_civil_status({**IDENTITY_ANSWER, "cnp": make_cnp()})
    for unverified in ("birth_place", "father_first_name", "mother_first_name", "citizenship", "address"):
        assert not hasattr(person, unverified), unverified
    assert "Inventată" not in str(vars(person))


def test_a_missing_profile_asks_the_citizen_to_complete_it() -> None:
    with _identity(404, {"status": 404}, []) as url, pytest.raises(CivilStatusUnavailable) as raised:
        IdentityCivilStatusClient(url).fetch("t")
    assert PROBLEMS[type(raised.value)].status == 409


def test_an_unreachable_identity_service_is_a_retryable_503() -> None:
    with pytest.raises(IdentityServiceDown) as raised:
        IdentityCivilStatusClient("http://127.0.0.1:9", timeout=0.5).fetch("t")
    assert PROBLEMS[type(raised.value)].status == 503
    assert raised.value.headers["Retry-After"]


def test_a_cnp_with_a_wrong_check_digit_is_refused_without_echoing_it() -> None:
    cnp = make_cnp()
    wrong = cnp[:12] + str((int(cnp[12]) + 1) % 10)
    with _identity(200, {**IDENTITY_ANSWER, "cnp": wrong}, []) as url, pytest.raises(CivilStatusUnreadable) as raised:
        IdentityCivilStatusClient(url).fetch("t")
    assert PROBLEMS[type(raised.value)].status == 502
    assert wrong not in str(raised.value) + json.dumps(raised.value.extensions)


def test_a_civil_status_never_shows_its_cnp_in_a_repr() -> None:
    person = parse_civil_status({**IDENTITY_ANSWER, "cnp": make_cnp()})
    assert person.cnp not in repr(person)


def test_a_connection_dropped_without_an_answer_is_retried_once_on_a_fresh_one() -> None:
    # What a pooled keep-alive connection meets when identity-svc closes it at that moment.
    attempts: list[str] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            attempts.append(self.path)
            if len(attempts) == 1:
                self.close_connection = True  # hang up without a word
                return
            send_json(self, 200, IDENTITY_ANSWER | {"cnp": make_cnp()})

    with serve_http(Handler) as url:
        person = IdentityCivilStatusClient(url).fetch("t")
    assert person.first_name == "Ana"
    assert len(attempts) == 2
