"""Anyone checks a certificate: its number and either the holder's CNP or the printed code."""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias, TypeGuard, cast

from mai_chassis import SqlUnitOfWork, UnitOfWork
from sqlalchemy import Row, Table, bindparam, delete, literal_column, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from ..deps import RecordDeps
from ..domain import (
    FailureBudget,
    VerificationAttempts,
    VerificationResult,
    as_utc,
    canonical_verification_code,
    mask_name,
    normalise_registration_number,
    verification_result,
)
from ..errors import VerificationLocked
from ..metrics import SERVICE, VERIFICATION_LOCKS, VERIFICATIONS
from ..tables import CertificateApplication, VerificationAttemptRecord

__all__ = ["Verification", "VerifyCertificate", "verify_certificate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class VerifyCertificate:
    """The number as typed, and exactly one of the holder's CNP and the printed verification code."""

    number: str
    cnp: str | None = field(default=None, repr=False)
    verification_code: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.cnp is None) == (self.verification_code is None):
            raise ValueError("give either the CNP or the verification code")


@dataclass(frozen=True)
class Verification:
    result: VerificationResult
    registration_number: str | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    holder: str | None = None


def verify_certificate(uow: UnitOfWork, deps: RecordDeps, command: VerifyCertificate) -> Verification:
    """A wrong CNP or code and an unknown number get the same answer.

    Wrong CNPs count against the number (existing or not) and lock verification by CNP for a while
    (:class:`VerificationLocked`); the code, 60 random bits, is never locked, so nobody can stop a
    certificate's genuine verifier by guessing CNPs at it.
    """
    number = normalise_registration_number(command.number)
    now = uow.clock.now()
    if command.verification_code is not None:
        return _verify_by_code(uow, deps, number, command.verification_code, now)
    assert command.cnp is not None
    return _verify_by_cnp(uow, deps, number, command.cnp, now)


def _verify_by_code(uow: UnitOfWork, deps: RecordDeps, number: str | None, typed: str, now: datetime) -> Verification:
    code = canonical_verification_code(typed) or ""
    digest = deps.hasher.code_digest(code)  # computed in every case, so timing says nothing
    certificate: CheckedCertificate | None
    if _on_postgresql(uow):
        # One statement, its own transaction: the certificate read, and counted if the digest is its own.
        certificate = _certificate_counted_by_code(uow, number, digest if code else None, now)
    else:
        certificate = _certificate_numbered(uow.session, number)
    stored = certificate.verification_code_digest if certificate is not None else None
    matched = certificate is not None and hmac.compare_digest(digest, stored or "0" * 64) and bool(code)
    outcome = _verification(certificate if matched else None, now, method="code")
    if not _on_postgresql(uow):
        _count(uow.session, certificate if matched else None, now)
        uow.commit()
    return outcome


def _verify_by_cnp(uow: UnitOfWork, deps: RecordDeps, number: str | None, cnp: str, now: datetime) -> Verification:
    digest = deps.hasher.digest(cnp)
    if number is None:  # no certificate can have it: nothing to count against
        uow.commit()
        return _verification(None, now, method="cnp")
    certificate: CheckedCertificate | None
    if _on_postgresql(uow):
        # The number's record locked and the certificate read in one statement (after the BEGIN).
        attempts, certificate = _attempts_locked_and_certificate(uow, number, now, deps.failure_budget)
    else:
        attempts = _attempts_locked_for_update(uow.session, number, now, deps.failure_budget)
    seconds = attempts.seconds_locked(now)
    if seconds:
        VERIFICATIONS.labels(SERVICE, "cnp", "locked").inc()
        raise VerificationLocked(seconds)
    if not _on_postgresql(uow):
        certificate = _certificate_numbered(uow.session, number)
    stored = certificate.holder_cnp_digest if certificate is not None else "0" * 64
    if certificate is not None and hmac.compare_digest(digest, stored):
        outcome = _verification(certificate, now, method="cnp")
        if _on_postgresql(uow):
            uow.commit_with(_COUNT_SQL, {"id": certificate.id, "now": now})  # the COMMIT travels with it
            return outcome
        _count(uow.session, certificate, now)
    else:
        _record_failure(uow.session, number, attempts, now, deps.failure_budget)
        outcome = _verification(None, now, method="cnp")
    uow.commit()
    return outcome


def _on_postgresql(uow: UnitOfWork) -> TypeGuard[SqlUnitOfWork]:
    """Whether the check runs its PostgreSQL statements on the driver (else the portable ones, below)."""
    return isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql


# Core statements on the tables: no ORM bookkeeping on the check's path.
_CERTIFICATES = cast(Table, CertificateApplication.__table__)
_ATTEMPTS = cast(Table, VerificationAttemptRecord.__table__)

#: What a check reads of a certificate: its row without the ORM object (the check's hottest read).
_CHECKED = (
    CertificateApplication.id,
    CertificateApplication.status,
    CertificateApplication.registration_number,
    CertificateApplication.issued_at,
    CertificateApplication.valid_until,
    CertificateApplication.holder_name,
    CertificateApplication.holder_cnp_digest,
    CertificateApplication.verification_code_digest,
)


class _Checked(NamedTuple):
    """A row of ``_CHECKED`` as the driver returns it."""

    id: uuid.UUID
    status: str
    registration_number: str | None
    issued_at: datetime | None
    valid_until: datetime | None
    holder_name: str
    holder_cnp_digest: str
    verification_code_digest: str | None


#: A certificate as the check reads it: through SQLAlchemy (SQLite) or the driver (PostgreSQL).
CheckedCertificate: TypeAlias = "Row[Any] | _Checked"

# On PostgreSQL the check is few round trips, each statement built and compiled once, run on the
# driver's own cursor (no SQLAlchemy result objects); SQLite (tests, laptops) runs the statements below.
_COMPILER = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
# Constants written into the SQL (a literal number would be compiled as a parameter with no value here).
_ZERO: ColumnClause[int] = literal_column("0")
_ONE: ColumnClause[int] = literal_column("1")

#: The certificate with the number, and, when the code's digest is its own, one more verification
#: counted, in one statement that is its own transaction (the CTE that counts runs whether or not the
#: outer query reads it). The caller still decides what to answer with a constant-time comparison.
_found = select(*_CHECKED).where(CertificateApplication.registration_number == bindparam("number")).cte("found")
_COUNTED_BY_CODE = select(*(_found.c[column.key] for column in _CHECKED)).add_cte(
    update(_CERTIFICATES)
    .where(
        _CERTIFICATES.c.id
        == select(_found.c.id).where(_found.c.verification_code_digest == bindparam("digest")).scalar_subquery()
    )
    .values(verifications=_CERTIFICATES.c.verifications + _ONE, last_verified_at=bindparam("now"))
    .cte("counted")
)
_COUNTED_BY_CODE_SQL = str(_COUNTED_BY_CODE.compile(dialect=_COMPILER))

#: The number's wrong-CNP record created or locked (as ``_attempts_locked_for_update``), with the
#: certificate that has the number (if any) read in the same statement. The record is the latest
#: committed (an upsert that waits for the lock goes on with the row as its holder left it), the
#: certificate is read as of the statement's start: the only writes made under that lock are
#: counts and wrong-CNP records, which no answer shows.
_upserted = pg_insert(_ATTEMPTS).values(
    registration_number=bindparam("number"), failures=_ZERO, locks=_ZERO, forget_after=bindparam("forget_after")
)
_attempts = (
    _upserted.on_conflict_do_update(index_elements=["registration_number"], set_={"failures": _ATTEMPTS.c.failures})
    .returning(_ATTEMPTS.c.failures, _ATTEMPTS.c.window_started_at, _ATTEMPTS.c.locked_until, _ATTEMPTS.c.locks)
    .cte("attempts")
)
_certificate = _CERTIFICATES.alias("certificate")
_ATTEMPTS_AND_CERTIFICATE = select(
    _attempts.c.failures,
    _attempts.c.window_started_at,
    _attempts.c.locked_until,
    _attempts.c.locks,
    *(_certificate.c[column.key] for column in _CHECKED),
).select_from(_attempts.outerjoin(_certificate, _certificate.c.registration_number == bindparam("number")))
_ATTEMPTS_AND_CERTIFICATE_SQL = str(_ATTEMPTS_AND_CERTIFICATE.compile(dialect=_COMPILER))

_COUNT_SQL = str(
    update(_CERTIFICATES)
    .where(_CERTIFICATES.c.id == bindparam("id"))
    .values(verifications=_CERTIFICATES.c.verifications + _ONE, last_verified_at=bindparam("now"))
    .compile(dialect=_COMPILER)
)


def _certificate_counted_by_code(
    uow: SqlUnitOfWork, number: str | None, digest: str | None, now: datetime
) -> _Checked | None:
    if number is None:
        return None
    found = uow.commit_with(_COUNTED_BY_CODE_SQL, {"number": number, "digest": digest, "now": now})
    return _Checked._make(found) if found is not None else None


def _attempts_locked_and_certificate(
    uow: SqlUnitOfWork, number: str, now: datetime, budget: FailureBudget
) -> tuple[VerificationAttempts, _Checked | None]:
    row = uow.fetch_first(_ATTEMPTS_AND_CERTIFICATE_SQL, {"number": number, "forget_after": now + budget.window})
    assert row is not None  # the upsert always returns the number's row
    failures, window_started_at, locked_until, locks, *certificate = row
    attempts = VerificationAttempts(
        failures=failures, window_started_at=window_started_at, locked_until=locked_until, locks=locks
    )
    return attempts, _Checked(*certificate) if certificate[0] is not None else None


def _certificate_numbered(session: Session, number: str | None) -> Row[Any] | None:
    if number is None:
        return None
    found = session.execute(select(*_CHECKED).where(CertificateApplication.registration_number == number)).first()
    return cast("Row[Any] | None", found)


def _count(session: Session, application: CheckedCertificate | None, now: datetime) -> None:
    """One more verification found the certificate (the clerks' history shows how many)."""
    if application is None:
        return
    table = _CERTIFICATES
    session.execute(
        update(table)
        .where(table.c.id == application.id)
        .values(verifications=table.c.verifications + 1, last_verified_at=now)
    )


def _verification(application: CheckedCertificate | None, now: datetime, *, method: str) -> Verification:
    if application is None:
        VERIFICATIONS.labels(SERVICE, method, VerificationResult.NOT_FOUND).inc()
        return Verification(VerificationResult.NOT_FOUND)
    result = verification_result(application.status, application.valid_until, now)
    VERIFICATIONS.labels(SERVICE, method, result).inc()
    if result is VerificationResult.NOT_FOUND:
        return Verification(result)
    return Verification(
        result,
        registration_number=application.registration_number,
        issued_at=as_utc(application.issued_at) if application.issued_at else None,
        valid_until=as_utc(application.valid_until) if application.valid_until else None,
        holder=mask_name(application.holder_name),
    )


def _attempts_locked_for_update(
    session: Session, number: str, now: datetime, budget: FailureBudget
) -> VerificationAttempts:
    """The number's wrong-CNP record, its row locked until commit: concurrent guesses at one number
    queue behind each other, so none slips past the budget. The upsert creates the row or locks the
    existing one in one statement (a row that does not exist cannot be locked, and an ON CONFLICT DO
    NOTHING would leave a stale row free to be deleted before it is locked)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = _ATTEMPTS
    statement = insert(table).values(registration_number=number, failures=0, locks=0, forget_after=now + budget.window)
    # DO UPDATE (to the same value) locks the row until commit, and RETURNING reads it in the same statement.
    row = session.execute(
        statement.on_conflict_do_update(
            index_elements=["registration_number"], set_={"failures": table.c.failures}
        ).returning(table.c.failures, table.c.window_started_at, table.c.locked_until, table.c.locks)
    ).one()
    return VerificationAttempts(
        failures=row.failures, window_started_at=row.window_started_at, locked_until=row.locked_until, locks=row.locks
    )


def _record_failure(
    session: Session, number: str, attempts: VerificationAttempts, now: datetime, budget: FailureBudget
) -> None:
    after = attempts.after_failure(now, budget)
    table = _ATTEMPTS
    session.execute(
        update(table)
        .where(table.c.registration_number == number)
        .values(
            failures=after.failures,
            window_started_at=after.window_started_at,
            locked_until=after.locked_until,
            locks=after.locks,
            forget_after=after.forgotten_after(budget) or now + budget.window,
        )
    )
    if after.seconds_locked(now):
        VERIFICATION_LOCKS.labels(SERVICE).inc()
        logger.warning("verification by CNP locked for a registration number after %d wrong CNPs", budget.failures)
    # Rows that say nothing any more go as new ones come: the table holds about a window's worth.
    # Rows another verification holds are left for later (waiting on them could deadlock).
    stale = (
        select(VerificationAttemptRecord.registration_number)
        .where(VerificationAttemptRecord.forget_after < now)
        .limit(100)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(VerificationAttemptRecord).where(VerificationAttemptRecord.registration_number.in_(stale)))
