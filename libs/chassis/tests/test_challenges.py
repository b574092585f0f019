"""The proof-of-work challenge: solvable, signed, short-lived, and as hard as it says."""

from __future__ import annotations

import hashlib

import pytest
from mai_chassis.challenges import ProofOfWork, solve_proof_of_work

KEY = b"tests-only-challenge-key-0123456789abcdef"


def test_a_solved_challenge_is_accepted_with_its_expiry() -> None:
    work = ProofOfWork(KEY, bits=8, lifetime_seconds=300)
    challenge = work.issue(now=1_000_000)
    solved = work.check(solve_proof_of_work(challenge), now=1_000_100)
    assert solved is not None
    assert solved.id == challenge["challenge"] and solved.expires_at == 1_000_300


def test_an_expired_tampered_or_unsolved_challenge_is_refused() -> None:
    work = ProofOfWork(KEY, bits=8)
    answer = solve_proof_of_work(work.issue(now=1_000_000))
    assert work.check(answer, now=1_000_301) is None, "expired"
    challenge, nonce = answer.rsplit(":", 1)
    version, bits, expires, rand, signature = challenge.split(".")
    assert work.check(f"{version}.{bits}.{int(expires) + 9999}.{rand}.{signature}:{nonce}", now=1_000_000) is None
    unsolved = next(n for n in range(1000) if hashlib.sha256(f"{challenge}:{n}".encode()).digest()[0] != 0)
    assert work.check(f"{challenge}:{unsolved}", now=1_000_000) is None, "the hash does not start with 8 zero bits"
    assert work.check(None) is None and work.check("") is None and work.check("x" * 1000) is None
    other = ProofOfWork(b"another-key-for-tests-0123456789abcdef", bits=8)
    assert other.check(answer, now=1_000_000) is None, "signed with another key"


def test_a_challenge_issued_for_fewer_bits_does_not_pass_a_stricter_verifier() -> None:
    easy, strict = ProofOfWork(KEY, bits=4), ProofOfWork(KEY, bits=12)
    assert strict.check(solve_proof_of_work(easy.issue(now=1_000_000)), now=1_000_000) is None


def test_a_short_key_or_silly_difficulty_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        ProofOfWork(b"short")
    with pytest.raises(ValueError, match="bits"):
        ProofOfWork(KEY, bits=64)
