"""Anyone checks a certificate: its number and either the holder's CNP or the printed code."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from mai_chassis import UnitOfWork
from sqlalchemy import Row, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

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
        code = canonical_verification_code(command.verification_code) or ""
        digest = deps.hasher.code_digest(code)  # computed in every case, so timing says nothing
        application = _certificate_numbered(uow.session, number)
        stored = application.verification_code_digest if application is not None else None
        matched = application is not None and hmac.compare_digest(digest, stored or "0" * 64) and bool(code)
        outcome = _verification(application if matched else None, now, method="code")
        _count(uow.session, application if matched else None, now)
        uow.commit()
        return outcome

    assert command.cnp is not None
    digest = deps.hasher.digest(command.cnp)
    if number is None:  # no certificate can have it: nothing to count against
        uow.commit()
        return _verification(None, now, method="cnp")
    attempts = _attempts_locked_for_update(uow.session, number, now, deps.failure_budget)
    seconds = attempts.seconds_locked(now)
    if seconds:
        VERIFICATIONS.labels(SERVICE, "cnp", "locked").inc()
        raise VerificationLocked(seconds)
    application = _certificate_numbered(uow.session, number)
    stored = application.holder_cnp_digest if application is not None else "0" * 64
    if application is not None and hmac.compare_digest(digest, stored):
        outcome = _verification(application, now, method="cnp")
        _count(uow.session, application, now)
    else:
        _record_failure(uow.session, number, attempts, now, deps.failure_budget)
        outcome = _verification(None, now, method="cnp")
    uow.commit()
    return outcome


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


def _certificate_numbered(session: Session, number: str | None) -> Row[Any] | None:
    if number is None:
        return None
    found = session.execute(select(*_CHECKED).where(CertificateApplication.registration_number == number)).first()
    return cast("Row[Any] | None", found)


def _count(session: Session, application: Row[Any] | None, now: datetime) -> None:
    """One more verification found the certificate (the clerks' history shows how many)."""
    if application is None:
        return
    table = _CERTIFICATES
    session.execute(
        update(table)
        .where(table.c.id == application.id)
        .values(verifications=table.c.verifications + 1, last_verified_at=now)
    )


def _verification(application: Row[Any] | None, now: datetime, *, method: str) -> Verification:
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
