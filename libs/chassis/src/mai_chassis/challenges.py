"""A hook for anonymous forms under pressure: the client must first solve a challenge.

A service asks for a solved challenge only once a threshold trips (for example a client's third
petition with attachments in a day), so ordinary use never meets one. The shipped challenge is a
proof of work: the service hands out a signed, short-lived challenge; the client finds a nonce
such that ``SHA-256(challenge ":" nonce)`` starts with ``bits`` zero bits (about 2**bits hashes:
a second or so of a browser's time at 20 bits, a real cost at scale) and sends
``<challenge>:<nonce>`` in the ``Proof-Of-Work`` header. Each challenge is accepted once.

A CAPTCHA provider fits the same hook: implement :class:`ChallengeVerifier` (``issue`` describes
what the client must do, ``check`` verifies the answer, e.g. with the provider's verification API).

What a service needs around it is here too: :func:`client_key` (who is asking, hashed),
:func:`count_in_window` (a per-client count in a table of the service's own), :func:`spend_once`
(a solution is accepted once) and :func:`challenge_required` (the 428 refusal that carries the
challenge). Each service keeps the two tables in its own database, with columns
``scope``/``window_started_at``/``requests`` and ``challenge``/``expires_at``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .problems import Problem

__all__ = [
    "CHALLENGE_KINDS",
    "PROOF_OF_WORK_HEADER",
    "ChallengeVerifier",
    "ProofOfWork",
    "SolvedChallenge",
    "challenge_required",
    "client_key",
    "count_in_window",
    "solve_proof_of_work",
    "spend_once",
    "verifier_for",
]

PROOF_OF_WORK_HEADER = "Proof-Of-Work"
#: What a service's ``*_CHALLENGE`` setting may name: ``off`` (the default), or the challenge to ask.
CHALLENGE_KINDS = ("off", "proof-of-work")


@dataclass(frozen=True)
class SolvedChallenge:
    """A challenge the client solved: ``id`` is to be accepted once, until ``expires_at`` (Unix time)."""

    id: str
    expires_at: int


class ChallengeVerifier(Protocol):
    def issue(self) -> dict[str, Any]:
        """What the client must solve, to put in the refusal (problem+json ``challenge`` member)."""
        ...

    def check(self, answer: str | None) -> SolvedChallenge | None:
        """The challenge ``answer`` solves (the caller makes sure it is used once), or None."""
        ...


@dataclass(frozen=True)
class ProofOfWork:
    """Stateless proof-of-work challenges signed with ``key`` (HMAC-SHA256)."""

    key: bytes
    bits: int = 20
    lifetime_seconds: int = 300

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise ValueError("the challenge key must be at least 32 bytes")
        if not 1 <= self.bits <= 32:
            raise ValueError("proof-of-work bits must be between 1 and 32")

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, body.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def issue(self, *, now: float | None = None) -> dict[str, Any]:
        expires = int((now if now is not None else time.time()) + self.lifetime_seconds)
        body = f"v1.{self.bits}.{expires}.{secrets.token_hex(12)}"
        return {
            "kind": "proof-of-work",
            "header": PROOF_OF_WORK_HEADER,
            "challenge": f"{body}.{self._sign(body)}",
            "bits": self.bits,
            "expires_at": expires,
            "instructions": f"Find a nonce such that SHA-256(challenge + ':' + nonce) starts with {self.bits} zero "
            f"bits, then send the same request again with the header {PROOF_OF_WORK_HEADER}: <challenge>:<nonce>.",
        }

    def check(self, answer: str | None, *, now: float | None = None) -> SolvedChallenge | None:
        if not answer or len(answer) > 300:
            return None
        challenge, _, nonce = answer.strip().rpartition(":")
        parts = challenge.split(".")
        if len(parts) != 5 or parts[0] != "v1" or not nonce or len(nonce) > 64:
            return None
        body, signature = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            bits, expires = int(parts[1]), int(parts[2])
        except ValueError:
            return None
        if bits < self.bits or expires < (now if now is not None else time.time()):
            return None
        if _leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < bits:
            return None
        return SolvedChallenge(challenge, expires)


def _leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solve_proof_of_work(challenge: dict[str, Any]) -> str:
    """The ``Proof-Of-Work`` header value answering ``challenge`` (for clients and tests)."""
    text, bits = str(challenge["challenge"]), int(challenge["bits"])
    nonce = 0
    while _leading_zero_bits(hashlib.sha256(f"{text}:{nonce}".encode()).digest()) < bits:
        nonce += 1
    return f"{text}:{nonce}"


def verifier_for(kind: str, key: str, *, bits: int = 20) -> ChallengeVerifier | None:
    """The verifier a ``*_CHALLENGE`` setting names (None for ``off``)."""
    if kind == "off":
        return None
    if kind == "proof-of-work":
        return ProofOfWork(key.encode(), bits=bits)
    raise ValueError(f"unknown challenge kind {kind!r}; expected one of {CHALLENGE_KINDS}")


def client_key(subject: str | None, address: str | None) -> str:
    """Who is asking: the signed-in subject, else the client address (an IPv6 /64 counts as one
    client, since a single subscriber is usually handed a whole /64). Hashed: no address is kept."""
    if subject:
        return "client:" + _digest(f"sub:{subject}")
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "client:" + _digest(f"addr:{address}")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "client:" + _digest(f"addr:{ip.ipv4_mapped}")
        return "client:" + _digest(f"net:{ipaddress.ip_network(f'{ip}/64', strict=False)}")
    return "client:" + _digest(f"addr:{ip}")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:64]


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def count_in_window(session: Session, table: Any, scope: str, now: datetime, window: timedelta) -> int:
    """Count one request of ``scope`` in ``table`` (columns ``scope``, ``window_started_at``,
    ``requests``); returns the scope's requests in its current window, this one included. One
    atomic upsert that locks the row until commit, so concurrent requests are all counted; a
    refused request's transaction rolls back and with it the count."""
    expired = table.window_started_at <= now - window
    counted = (
        _insert(session)(table)
        .values(scope=scope, window_started_at=now, requests=1)
        .on_conflict_do_update(
            index_elements=["scope"],
            set_={
                "requests": case((expired, 1), else_=table.requests + 1),
                "window_started_at": case((expired, now), else_=table.window_started_at),
            },
        )
        .returning(table.requests)
    )
    return int(session.execute(counted).scalar_one())


def spend_once(session: Session, table: Any, solved: SolvedChallenge | None, now: datetime) -> bool:
    """Accept a solved challenge once (``table`` has ``challenge`` and ``expires_at``; the chassis'
    own is :class:`mai_chassis.tables.UsedChallenge`): a second use of the same one is refused.
    Spent challenges are forgotten once they would have expired anyway."""
    if solved is None:
        return False
    session.execute(delete(table).where(table.expires_at < now))
    expires = datetime.fromtimestamp(solved.expires_at, UTC)
    # RETURNING, not rowcount: an ORM-enabled insert's rowcount is -1 on PostgreSQL whether or not a row went in.
    inserted = session.execute(
        _insert(session)(table)
        .values(challenge=solved.id, expires_at=expires)
        .on_conflict_do_nothing()
        .returning(table.challenge)
    )
    return inserted.first() is not None


def challenge_required(verifier: ChallengeVerifier, detail: str) -> Problem:
    """The refusal of a request that needs a solved challenge: 428 ``challenge-required`` with the
    ``challenge`` to solve (a request with ``Idempotency-Key`` may be sent again with the same key)."""
    return Problem(428, detail, kind="challenge-required", challenge=verifier.issue())
