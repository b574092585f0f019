"""The proof-of-work challenge: solvable, signed, short-lived, and as hard as it says."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mai_chassis import Database
from mai_chassis.challenges import (
    ProofOfWork,
    client_key,
    count_in_window,
    solve_proof_of_work,
    spend_once,
    verifier_for,
)
from mai_chassis.migrations import upgrade
from mai_chassis.tables import UsedChallenge
from sqlalchemy import DateTime, Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

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


class _Base(DeclarativeBase):
    pass


class _Requests(_Base):
    __tablename__ = "requests"
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requests: Mapped[int] = mapped_column(Integer)


class _Spent(_Base):
    __tablename__ = "spent"
    challenge: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@pytest.fixture
def session() -> Session:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    return Session(engine)


def test_requests_are_counted_per_client_and_the_count_starts_again_with_a_new_window(session: Session) -> None:
    start, window = datetime(2026, 12, 7, 10, tzinfo=UTC), timedelta(hours=1)
    ana, other = client_key(None, "198.51.100.7"), client_key(None, "203.0.113.9")
    assert [count_in_window(session, _Requests, ana, start, window) for _ in range(3)] == [1, 2, 3]
    assert count_in_window(session, _Requests, other, start, window) == 1
    assert count_in_window(session, _Requests, ana, start + window + timedelta(seconds=1), window) == 1


def test_a_solved_challenge_is_spent_once(session: Session) -> None:
    work = verifier_for("proof-of-work", KEY.decode(), bits=8)
    assert isinstance(work, ProofOfWork) and verifier_for("off", "") is None
    solved = work.check(solve_proof_of_work(work.issue()))
    now = datetime.now(UTC)
    assert spend_once(session, _Spent, solved, now) is True
    assert spend_once(session, _Spent, solved, now) is False
    assert spend_once(session, _Spent, None, now) is False


def test_an_address_is_kept_only_hashed_and_an_ipv6_subscriber_counts_as_one_client() -> None:
    assert "198.51.100.7" not in client_key(None, "198.51.100.7")
    assert client_key(None, "2001:db8:1:2::1") == client_key(None, "2001:db8:1:2:ffff::9")
    assert client_key(None, "::ffff:198.51.100.7") == client_key(None, "198.51.100.7")


@pytest.mark.parametrize("server", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_the_chassis_migrations_give_every_service_a_table_of_used_challenges(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if server == "sqlite":
        url = f"sqlite:///{tmp_path / 'challenges.db'}"
    else:
        url = request.getfixturevalue("database_factory")("challenges")
    upgrade(url, None)
    database = Database(url)
    work = ProofOfWork(KEY, bits=8)
    solved, other = (work.check(solve_proof_of_work(work.issue())) for _ in range(2))
    now = datetime.now(UTC)
    try:
        with database.session() as session, session.begin():
            assert spend_once(session, UsedChallenge, solved, now) is True
        with database.session() as session, session.begin():
            assert spend_once(session, UsedChallenge, solved, now) is False
            assert spend_once(session, UsedChallenge, other, now) is True
            # Long expired: forgotten at the next spend, which keeps the table small.
            assert spend_once(session, UsedChallenge, other, now + timedelta(days=1)) is True
    finally:
        database.dispose()
