"""Test doubles of record-svc's neighbours: identity-svc's civil-status endpoint, people with CNPs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import jwt
from mai_chassis.testing import QuietHandler, send_json, serve_http

from .domain import CivilStatus
from .errors import CivilStatusUnavailable

__all__ = ["UNVERIFIED_PROFILE", "FakeCivilStatus", "make_cnp", "make_person", "serve_civil_status", "token_for"]

_WEIGHTS = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)


def make_cnp(birth_date: date | None = None, *, rng: random.Random | None = None) -> str:
    """A well-formed CNP (valid check digit) for a made-up person."""
    rng = rng or random.Random()  # noqa: S311 (made-up test people)
    birth_date = birth_date or date(rng.randint(1950, 1999), rng.randint(1, 12), rng.randint(1, 28))
    sex = rng.choice("12")
    body = f"{sex}{birth_date:%y%m%d}{rng.randint(1, 46):02d}{rng.randint(1, 999):03d}"
    check = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11
    return body + str(1 if check == 10 else check)


def make_person(*, first_name: str = "Ana-Maria", last_name: str = "Popescu", email: str | None = None) -> CivilStatus:
    birth = date(1990, 5, 17)
    return CivilStatus(
        cnp=make_cnp(birth),
        last_name=last_name,
        first_name=first_name,
        birth_date=birth,
        email=email or f"{first_name.lower()}.{last_name.lower()}@example.ro",
    )


def token_for(subject: object) -> str:
    """A bearer token as :class:`FakeCivilStatus` reads it (only its subject; the signature is not checked)."""
    return jwt.encode({"sub": str(subject)}, "fake-civil-status-tokens-are-not-verified", algorithm="HS256")


def _subject_of(bearer_token: str) -> str:
    claims = jwt.decode(bearer_token, options={"verify_signature": False})
    return str(claims["sub"])


@dataclass
class FakeCivilStatus:
    """In-process stand-in for identity-svc: the civil status of each token subject."""

    people: dict[str, CivilStatus] = field(default_factory=dict)

    def add(self, citizen_id: str, person: CivilStatus) -> CivilStatus:
        self.people[citizen_id] = person
        return person

    def fetch(self, bearer_token: str) -> CivilStatus:
        person = self.people.get(_subject_of(bearer_token))
        if person is None:
            raise CivilStatusUnavailable()
        return person


#: What a citizen may type into their identity-svc profile besides the verified identity; identity-svc
#: answers with it, and a certificate must never print it.
UNVERIFIED_PROFILE = {
    "birth_place": "Cluj-Napoca, județul Cluj",
    "father_first_name": "Ionel",
    "mother_first_name": "Mărioara",
    "citizenship": "RO",
    "address": "Str. Memorandumului nr. 28, Cluj-Napoca, județul Cluj",
}


def _as_json(person: CivilStatus) -> dict[str, Any]:
    body = {**UNVERIFIED_PROFILE, **asdict(person)}
    body["birth_date"] = person.birth_date.isoformat()
    return body


@contextmanager
def serve_civil_status(fake: FakeCivilStatus) -> Iterator[str]:
    """identity-svc's ``GET /internal/v1/civil-status`` on a loopback port; yields the base URL."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            person = None
            if self.path == "/internal/v1/civil-status" and scheme.lower() == "bearer" and token:
                try:
                    person = fake.people.get(_subject_of(token))
                except jwt.PyJWTError:
                    person = None
            status, body = (200, _as_json(person)) if person else (404, {"title": "Not Found", "status": 404})
            send_json(self, status, body)

    with serve_http(Handler) as url:
        yield url
