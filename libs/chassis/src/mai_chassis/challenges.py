"""A hook for anonymous forms under pressure: the client must first solve a challenge.

A service asks for a solved challenge only once a threshold trips (for example a client's third
petition with attachments in a day), so ordinary use never meets one. The shipped challenge is a
proof of work: the service hands out a signed, short-lived challenge; the client finds a nonce
such that ``SHA-256(challenge ":" nonce)`` starts with ``bits`` zero bits (about 2**bits hashes:
a second or so of a browser's time at 20 bits, a real cost at scale) and sends
``<challenge>:<nonce>`` in the ``Proof-Of-Work`` header. Each challenge is accepted once.

A CAPTCHA provider fits the same hook: implement :class:`ChallengeVerifier` (``issue`` describes
what the client must do, ``check`` verifies the answer, e.g. with the provider's verification API).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["PROOF_OF_WORK_HEADER", "ChallengeVerifier", "ProofOfWork", "SolvedChallenge", "solve_proof_of_work"]

PROOF_OF_WORK_HEADER = "Proof-Of-Work"


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
