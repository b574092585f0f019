"""The public check on PostgreSQL, where it runs as few statements on the driver's own cursor: the same
answers and the same counts as the statements SQLite runs, and the wrong-CNP budget held under races."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mai_chassis import Database
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.config import Settings
from record.deps import RecordDeps, build_deps
from record.domain import VerificationResult, as_utc, format_verification_code
from record.errors import VerificationLocked
from record.handlers import Verification, VerifyCertificate, verify_certificate
from record.tables import Base, CertificateApplication, VerificationAttemptRecord
from sqlalchemy import Connection, insert, select

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[1] / "src" / "record" / "migrations"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HASH_KEY = "integration-tests-only-registry-hash-key-0123"

#: number -> (status, valid until, printed code, holder's CNP, holder's name)
CERTIFICATES = {
    "CJ-2026-0000001": ("issued", NOW + timedelta(days=90), "7K2QMXPA9D4T", "1900101123456", "Ion Popescu"),
    "CJ-2026-0000002": ("revoked", NOW + timedelta(days=90), "ABCDEFGH2345", "2900101123457", "Maria Ionescu"),
    "CJ-2026-0000003": ("issued", NOW - timedelta(days=1), "HJKMNPQR6789", "1850505123458", "Andrei Pop"),
    "CJ-2026-0000004": ("referred", None, "STVWXYZ23456", "1850505123459", "Elena Dima"),
}

#: Each check: (number as typed, proof); run in this order, once on each database.
CHECKS: list[tuple[str, dict[str, str]]] = [
    ("CJ-2026-0000001", {"verification_code": "7K2Q-MXPA-9D4T"}),
    ("cj-2026-0000001 ", {"verification_code": "7k2qmxpa9d4t"}),
    ("CJ-2026-0000001", {"cnp": "1900101123456"}),
    ("CJ-2026-0000001", {"verification_code": "7K2QMXPA9D4A"}),  # wrong code
    ("CJ-2026-0000001", {"cnp": "1900101123450"}),  # wrong CNP
    ("CJ-2026-0000002", {"verification_code": "ABCD-EFGH-2345"}),  # revoked
    ("CJ-2026-0000002", {"cnp": "2900101123457"}),
    ("CJ-2026-0000003", {"verification_code": "HJKMNPQR6789"}),  # expired
    ("CJ-2026-0000003", {"cnp": "1850505123458"}),
    ("CJ-2026-0000004", {"verification_code": "STVW-XYZ2-3456"}),  # never issued
    ("CJ-2026-0000004", {"verification_code": "STUVWXYZ2345"}),  # no code has a U
    ("CJ-2026-0000004", {"cnp": "1850505123459"}),
    ("CJ-2031-0000009", {"verification_code": "7K2QMXPA9D4T"}),  # unknown number
    ("CJ-2031-0000009", {"cnp": "1900101123456"}),
    ("not a number", {"verification_code": "7K2QMXPA9D4T"}),
    ("not a number", {"cnp": "1900101123456"}),
]


@pytest.fixture
def database(migrated_database: Callable[..., Database]) -> Database:
    return migrated_database("record_verify", MIGRATIONS)


@pytest.fixture
def deps(database: Database, tmp_path: Path) -> RecordDeps:
    settings = Settings(
        environment="test",
        database_url=database.url,
        identity_url="http://127.0.0.1:9",
        registry_hash_key=HASH_KEY,
        certificates_dir=str(tmp_path / "certificates"),
        development_signing_dir=str(tmp_path / "signing"),
    )
    return build_deps(settings, database)


@pytest.fixture
def memory() -> Iterator[FakeUnitOfWork]:
    uow = FakeUnitOfWork(Base.metadata, clock=FixedClock(NOW), source="record-svc")
    yield uow
    uow.close()


def _seed(connection: Connection, deps: RecordDeps) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "citizen_id": uuid.uuid4(),
            "purpose": "employment",
            "application_day": (NOW - timedelta(days=100)).date(),
            "channel": "online",
            "status": status,
            "requested_at": NOW - timedelta(days=100),
            "holder_cnp_digest": deps.hasher.digest(cnp),
            "holder_name": name,
            "recipient_email": "holder@example.ro",
            "language": "ro",
            "registration_number": number,
            "issued_at": NOW - timedelta(days=100) if valid_until is not None else None,
            "valid_until": valid_until,
            "verification_code_digest": deps.hasher.code_digest(code),
        }
        for number, (status, valid_until, code, cnp, name) in CERTIFICATES.items()
    ]
    connection.execute(insert(CertificateApplication), rows)


def _counts(connection: Connection) -> dict[str, tuple[int, datetime | None]]:
    table = CertificateApplication.__table__
    rows = connection.execute(select(table.c.registration_number, table.c.verifications, table.c.last_verified_at))
    return {number: (count, as_utc(last) if last else None) for number, count, last in rows}


def _attempts(connection: Connection) -> dict[str, tuple[int, int]]:
    table = VerificationAttemptRecord.__table__
    rows = connection.execute(select(table.c.registration_number, table.c.failures, table.c.locks))
    return {number: (failures, locks) for number, failures, locks in rows}


def _check_on_postgresql(database: Database, deps: RecordDeps, number: str, proof: dict[str, str]) -> Verification:
    with database.unit_of_work(source="record-svc", clock=FixedClock(NOW)) as uow:
        return verify_certificate(uow, deps, VerifyCertificate(number=number, **proof))


def test_every_answer_and_count_is_the_same_as_on_sqlite(
    database: Database, deps: RecordDeps, memory: FakeUnitOfWork
) -> None:
    with database.engine.begin() as connection:
        _seed(connection, deps)
    with memory.engine.begin() as connection:
        _seed(connection, deps)

    on_postgresql = [_check_on_postgresql(database, deps, number, proof) for number, proof in CHECKS]
    on_sqlite = []
    for number, proof in CHECKS:
        with memory:
            on_sqlite.append(verify_certificate(memory, deps, VerifyCertificate(number=number, **proof)))

    assert on_postgresql == on_sqlite
    assert [answer.result for answer in on_postgresql] == [
        VerificationResult.VALID,
        VerificationResult.VALID,
        VerificationResult.VALID,
        VerificationResult.NOT_FOUND,
        VerificationResult.NOT_FOUND,
        VerificationResult.REVOKED,
        VerificationResult.REVOKED,
        VerificationResult.EXPIRED,
        VerificationResult.EXPIRED,
        *[VerificationResult.NOT_FOUND] * 7,
    ]
    valid = on_postgresql[0]
    assert (valid.registration_number, valid.holder) == ("CJ-2026-0000001", "I*** P***")
    assert (valid.issued_at, valid.valid_until) == (NOW - timedelta(days=100), NOW + timedelta(days=90))
    assert all(answer.holder is None and answer.registration_number is None for answer in on_postgresql[9:])

    with database.engine.connect() as connection:
        counts, attempts = _counts(connection), _attempts(connection)
    with memory.engine.connect() as connection:
        assert counts == _counts(connection)
        assert attempts == _attempts(connection)
    # Every right proof is counted, whatever the answer: three of the first, two of each other.
    assert counts["CJ-2026-0000001"] == (3, NOW)
    assert counts["CJ-2026-0000002"] == (2, NOW) and counts["CJ-2026-0000003"] == (2, NOW)
    assert counts["CJ-2026-0000004"] == (2, NOW)
    # A record per number checked by CNP; one wrong CNP counted against the first and the unknown number.
    assert attempts == {
        "CJ-2026-0000001": (1, 0),
        "CJ-2026-0000002": (0, 0),
        "CJ-2026-0000003": (0, 0),
        "CJ-2026-0000004": (0, 0),
        "CJ-2031-0000009": (1, 0),
    }


def test_concurrent_wrong_cnps_never_get_past_the_budget(database: Database, deps: RecordDeps) -> None:
    with database.engine.begin() as connection:
        _seed(connection, deps)
    number = "CJ-2026-0000001"

    def guess(cnp: str) -> str:
        try:
            return _check_on_postgresql(database, deps, number, {"cnp": cnp}).result.value
        except VerificationLocked:
            return "locked"

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(guess, [f"19001011234{n:02d}" for n in range(10, 22)]))

    # Five wrong CNPs are answered (not found), the sixth locks the number; every later one is refused.
    assert sorted(answers) == ["locked"] * 7 + ["not_found"] * 5
    with pytest.raises(VerificationLocked):
        _check_on_postgresql(database, deps, number, {"cnp": "1900101123456"})
    code = {"verification_code": format_verification_code("7K2QMXPA9D4T")}
    assert _check_on_postgresql(database, deps, number, code).result is VerificationResult.VALID
    with database.engine.connect() as connection:
        assert _attempts(connection)[number] == (0, 1)
        assert _counts(connection)[number] == (1, NOW)
