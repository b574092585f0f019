"""Use cases of record-svc: apply, list and download, verify, revoke, and learn verified citizens.

Each use case is one function taking the :class:`CertificateOffice` (its collaborators) and plain
values; state and outbox events commit together in one unit of work.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from mai_chassis import Database, Event, UnitOfWork
from prometheus_client import Counter, Histogram
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .civil_status import CivilStatusSource
from .clock import Clock
from .document import CertificateContent, CertificateMaker
from .domain import (
    ApplicationStatus,
    CertificateNotDownloadable,
    CertificateNotFound,
    CertificateNotRevocable,
    CivilStatus,
    ContactUnknown,
    FailureBudget,
    IdentityNotVerified,
    Purpose,
    PurposeCatalogue,
    VerificationAttempts,
    VerificationLocked,
    VerificationResult,
    application_day,
    as_utc,
    canonical_verification_code,
    format_registration_number,
    format_verification_code,
    has_sufficient_assurance,
    mask_name,
    new_verification_code,
    normalise_registration_number,
    valid_until,
    verification_result,
)
from .registry import CnpHasher, CriminalRegistry
from .storage import CertificateStore
from .tables import (
    REGISTRATION_SEQUENCE,
    CertificateApplication,
    RegistrationNumberAllocation,
    VerificationAttemptRecord,
    VerifiedCitizen,
)

__all__ = [
    "Applicant",
    "CertificateOffice",
    "Verification",
    "apply_for_certificate",
    "certificate_of",
    "certificate_pdf",
    "certificates_of",
    "record_verified_identity",
    "revoke_certificate",
    "verify_certificate",
]

logger = logging.getLogger(__name__)

SOURCE = "record-svc"
REQUESTED = "ro.mai.certificate.requested.v1"
ISSUED = "ro.mai.certificate.issued.v1"
REFUSED = "ro.mai.certificate.refused.v1"
REVOKED = "ro.mai.certificate.revoked.v1"

APPLICATIONS = Counter("certificate_applications_total", "Certificate applications by outcome.", ["service", "outcome"])
ISSUE_SECONDS = Histogram(
    "certificate_issue_seconds",
    "Time to render and sign one certificate.",
    ["service"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
VERIFICATIONS = Counter(
    "certificate_verifications_total",
    "Public verifications by method (cnp, code) and result (valid, expired, revoked, not_found, locked).",
    ["service", "method", "result"],
)
VERIFICATION_LOCKS = Counter(
    "certificate_verification_locks_total",
    "Registration numbers locked for verification by CNP after too many wrong CNPs.",
    ["service"],
)


@dataclass
class CertificateOffice:
    """Everything the certificate use cases need, wired once by the app factory."""

    database: Database
    clock: Clock
    civil_status: CivilStatusSource
    registry: CriminalRegistry
    hasher: CnpHasher
    maker: CertificateMaker
    store: CertificateStore
    purposes: PurposeCatalogue
    verification_base_url: str
    default_referral_unit: str
    failure_budget: FailureBudget = field(default_factory=FailureBudget)

    def unit_of_work(self, traceparent: str | None = None) -> UnitOfWork:
        return self.database.unit_of_work(source=SOURCE, traceparent=traceparent)

    def verification_url(self, registration_number: str) -> str:
        """The public verification page for a number (printed on the certificate)."""
        return f"{self.verification_base_url}?{urlencode({'number': registration_number})}"

    def qr_url(self, registration_number: str, verification_code: str) -> str:
        """What the QR code carries: the page, with the code in the fragment, which browsers never
        send to a server (so it reaches no access log); the page fills its field from it."""
        code = format_verification_code(verification_code)
        return f"{self.verification_url(registration_number)}#{urlencode({'code': code})}"


@dataclass(frozen=True)
class Applicant:
    """The citizen applying, as their access token says."""

    citizen_id: uuid.UUID
    assurance: str
    bearer_token: str
    email: str | None = None


@dataclass(frozen=True)
class Verification:
    result: VerificationResult
    registration_number: str | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    holder: str | None = None


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _application_of_the_day(
    session: Session, citizen_id: uuid.UUID, purpose: str, now: datetime
) -> CertificateApplication | None:
    return session.scalar(
        select(CertificateApplication).where(
            CertificateApplication.citizen_id == citizen_id,
            CertificateApplication.purpose == purpose,
            CertificateApplication.application_day == application_day(now),
        )
    )


def _next_registration_number(session: Session, issued_at: datetime) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # nextval() takes no lock and is never rolled back: concurrent issues never share a number.
        sequence = int(session.scalar(REGISTRATION_SEQUENCE.next_value().select()) or 0)
    else:
        allocation = RegistrationNumberAllocation()
        session.add(allocation)
        session.flush()
        sequence = allocation.sequence
    return format_registration_number(application_day(issued_at).year, sequence)


def _issue(
    office: CertificateOffice,
    session: Session,
    application: CertificateApplication,
    holder: CivilStatus,
    purpose: Purpose,
) -> None:
    """Number, render, sign and store the certificate of ``application`` (not yet committed)."""
    assert application.issued_at is not None and application.valid_until is not None
    number = _next_registration_number(session, application.issued_at)
    code = new_verification_code()
    with ISSUE_SECONDS.labels(SOURCE).time():
        pdf = office.maker.make(
            CertificateContent(
                registration_number=number,
                holder=holder,
                purpose=purpose,
                purpose_text=application.purpose_text,
                issued_at=application.issued_at,
                valid_until=application.valid_until,
                verification_url=office.verification_url(number),
                verification_code=format_verification_code(code),
                qr_url=office.qr_url(number, code),
            )
        )
    application.registration_number = number
    application.verification_code_digest = office.hasher.code_digest(code)
    application.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    office.store.put(application.id, pdf)


def apply_for_certificate(
    office: CertificateOffice,
    applicant: Applicant,
    *,
    purpose_code: str,
    purpose_text: str | None = None,
    language: str | None = None,
    channel: str = "web",
    traceparent: str | None = None,
) -> tuple[CertificateApplication, bool]:
    """Apply; returns the application and whether it is new (False: today's one for this purpose).

    No registry entry: the certificate is issued at once (rendered, signed, stored). An entry: the
    application is referred to a counter and no certificate is produced.
    """
    purpose, purpose_text = office.purposes.resolve(purpose_code, purpose_text)
    now = office.clock.now()
    with office.database.session() as session:
        verified = session.get(VerifiedCitizen, applicant.citizen_id)
        existing = _application_of_the_day(session, applicant.citizen_id, purpose.code, now)
    verified_online = has_sufficient_assurance(applicant.assurance)
    if not (verified_online or (verified and has_sufficient_assurance(verified.assurance_level))):
        raise IdentityNotVerified()
    if existing is not None:
        return existing, False

    holder = office.civil_status.fetch(applicant.bearer_token)
    email = holder.email or (verified.email if verified else None) or applicant.email
    if not email:
        raise ContactUnknown()
    language = language or (verified.language if verified else None) or "ro"
    answer = office.registry.check(holder.cnp)

    application = CertificateApplication(
        id=uuid.uuid4(),
        citizen_id=applicant.citizen_id,
        purpose=purpose.code,
        purpose_text=purpose_text,
        application_day=application_day(now),
        channel=channel,
        requested_at=now,
        holder_cnp_digest=office.hasher.digest(holder.cnp),
        holder_name=holder.full_name,
        recipient_email=email,
        language=language,
    )
    recipient = {"email": email, "name": holder.full_name, "language": language}
    if answer.has_entry:
        application.status = ApplicationStatus.REFERRED
        application.referral_reason = "registry_entry"
        application.referred_to_unit = answer.unit or office.default_referral_unit
    else:
        application.status = ApplicationStatus.ISSUED
        application.issued_at = now
        application.valid_until = valid_until(now)

    try:
        with office.unit_of_work(traceparent) as uow:
            if application.status == ApplicationStatus.ISSUED:
                _issue(office, uow.session, application, holder, purpose)
            uow.session.add(application)
            subject = str(application.id)
            uow.publish(
                REQUESTED,
                subject=subject,
                data={
                    "certificate_id": subject,
                    "citizen_id": str(application.citizen_id),
                    "purpose": application.purpose,
                    "channel": channel,
                    "requested_at": _iso(now),
                },
            )
            if application.status == ApplicationStatus.ISSUED:
                assert application.registration_number and application.valid_until
                uow.publish(
                    ISSUED,
                    subject=subject,
                    data={
                        "certificate_id": subject,
                        "citizen_id": str(application.citizen_id),
                        "registration_number": application.registration_number,
                        "purpose": application.purpose,
                        "issued_at": _iso(now),
                        "valid_until": _iso(application.valid_until),
                        "recipient": recipient,
                    },
                )
            else:
                uow.publish(
                    REFUSED,
                    subject=subject,
                    data={
                        "certificate_id": subject,
                        "citizen_id": str(application.citizen_id),
                        "purpose": application.purpose,
                        "reason": application.referral_reason,
                        "referred_to_unit": application.referred_to_unit,
                        "refused_at": _iso(now),
                        "recipient": recipient,
                    },
                )
            uow.commit()
    except IntegrityError:
        # A concurrent request for the same purpose won today's slot: answer with its application.
        office.store.discard(application.id)
        with office.database.session() as session:
            existing = _application_of_the_day(session, applicant.citizen_id, purpose.code, now)
        if existing is None:
            raise
        return existing, False
    except BaseException:
        office.store.discard(application.id)  # never keep a file whose application was not saved
        raise
    APPLICATIONS.labels(SOURCE, str(application.status)).inc()
    return application, True


def certificates_of(office: CertificateOffice, citizen_id: uuid.UUID) -> Sequence[CertificateApplication]:
    with office.database.session() as session:
        return session.scalars(
            select(CertificateApplication)
            .where(CertificateApplication.citizen_id == citizen_id)
            .order_by(CertificateApplication.requested_at.desc())
            .limit(200)
        ).all()


def certificate_of(
    office: CertificateOffice, citizen_id: uuid.UUID, certificate_id: uuid.UUID
) -> CertificateApplication:
    with office.database.session() as session:
        application = session.get(CertificateApplication, certificate_id)
    if application is None or application.citizen_id != citizen_id:
        raise CertificateNotFound()
    return application


def certificate_pdf(
    office: CertificateOffice, citizen_id: uuid.UUID, certificate_id: uuid.UUID
) -> tuple[CertificateApplication, bytes]:
    """The signed PDF, for its holder only and only while it is valid."""
    application = certificate_of(office, citizen_id, certificate_id)
    result = verification_result(application.status, application.valid_until, office.clock.now())
    if result is not VerificationResult.VALID:
        raise CertificateNotDownloadable(result if application.status != ApplicationStatus.REFERRED else "referred")
    pdf = office.store.get(application.id)
    if pdf is None:
        raise RuntimeError(f"stored certificate {application.id} is missing")
    return application, pdf


def verify_certificate(
    office: CertificateOffice,
    registration_number: str,
    *,
    cnp: str | None = None,
    verification_code: str | None = None,
) -> Verification:
    """Anyone may check a certificate with its number and either the holder's CNP or the
    verification code printed on it; a wrong one and an unknown number get the same answer.

    Wrong CNPs count against the number (existing or not) and lock verification by CNP for a while
    (:class:`VerificationLocked`); the code, 60 random bits, is never locked, so nobody can stop a
    certificate's genuine verifier by guessing CNPs at it.
    """
    if (cnp is None) == (verification_code is None):
        raise ValueError("give either the CNP or the verification code")
    number = normalise_registration_number(registration_number)
    if verification_code is not None:
        code = canonical_verification_code(verification_code) or ""
        digest = office.hasher.code_digest(code)  # computed in every case, so timing says nothing
        application = _certificate_numbered(office, number)
        stored = application.verification_code_digest if application is not None else None
        matched = application is not None and hmac.compare_digest(digest, stored or "0" * 64) and bool(code)
        return _verification(office, application if matched else None, method="code")

    assert cnp is not None
    digest = office.hasher.digest(cnp)
    if number is None:  # no certificate can have it: nothing to count against
        return _verification(office, None, method="cnp")
    now = office.clock.now()
    with office.database.session() as session, session.begin():
        attempts = _attempts_locked_for_update(session, number, now, office.failure_budget)
        seconds = attempts.seconds_locked(now)
        if seconds:
            VERIFICATIONS.labels(SOURCE, "cnp", "locked").inc()
            raise VerificationLocked(seconds)
        application = session.scalar(
            select(CertificateApplication).where(CertificateApplication.registration_number == number)
        )
        stored = application.holder_cnp_digest if application is not None else "0" * 64
        if application is not None and hmac.compare_digest(digest, stored):
            return _verification(office, application, method="cnp")
        _record_failure(session, number, attempts, now, office.failure_budget)
    return _verification(office, None, method="cnp")


def _certificate_numbered(office: CertificateOffice, number: str | None) -> CertificateApplication | None:
    if number is None:
        return None
    with office.database.session() as session:
        return session.scalar(
            select(CertificateApplication).where(CertificateApplication.registration_number == number)
        )


def _verification(
    office: CertificateOffice, application: CertificateApplication | None, *, method: str
) -> Verification:
    if application is None:
        VERIFICATIONS.labels(SOURCE, method, VerificationResult.NOT_FOUND).inc()
        return Verification(VerificationResult.NOT_FOUND)
    result = verification_result(application.status, application.valid_until, office.clock.now())
    VERIFICATIONS.labels(SOURCE, method, result).inc()
    if result is VerificationResult.NOT_FOUND:
        return Verification(result)
    return Verification(
        result,
        registration_number=application.registration_number,
        issued_at=application.issued_at,
        valid_until=application.valid_until,
        holder=mask_name(application.holder_name),
    )


def _attempts_locked_for_update(
    session: Session, number: str, now: datetime, budget: FailureBudget
) -> VerificationAttempts:
    """The number's wrong-CNP record, its row locked until commit: concurrent guesses at one number
    queue behind each other, so none slips past the budget. The upsert creates the row or locks the
    existing one in one statement (a row that does not exist cannot be locked)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(VerificationAttemptRecord).values(
        registration_number=number, failures=0, locks=0, forget_after=now + budget.window
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["registration_number"], set_={"failures": VerificationAttemptRecord.failures}
        )
    )
    row = session.scalar(
        select(VerificationAttemptRecord)
        .where(VerificationAttemptRecord.registration_number == number)
        .with_for_update()
    )
    assert row is not None
    return VerificationAttempts(
        failures=row.failures, window_started_at=row.window_started_at, locked_until=row.locked_until, locks=row.locks
    )


def _record_failure(
    session: Session, number: str, attempts: VerificationAttempts, now: datetime, budget: FailureBudget
) -> None:
    after = attempts.after_failure(now, budget)
    row = session.get(VerificationAttemptRecord, number)
    assert row is not None
    row.failures, row.window_started_at = after.failures, after.window_started_at
    row.locked_until, row.locks = after.locked_until, after.locks
    row.forget_after = after.forgotten_after(budget) or now + budget.window
    if after.seconds_locked(now):
        VERIFICATION_LOCKS.labels(SOURCE).inc()
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


def revoke_certificate(
    office: CertificateOffice,
    certificate_id: uuid.UUID,
    *,
    clerk_id: str,
    unit: str,
    reason: str,
    note: str | None = None,
    traceparent: str | None = None,
) -> CertificateApplication:
    with office.unit_of_work(traceparent) as uow:
        application = uow.session.get(CertificateApplication, certificate_id, with_for_update=True)
        if application is None:
            raise CertificateNotFound()
        if application.status != ApplicationStatus.ISSUED:
            raise CertificateNotRevocable(application.status)
        now = office.clock.now()
        application.status = ApplicationStatus.REVOKED
        application.revoked_at = now
        application.revocation_reason = reason
        application.revocation_note = note
        application.revoked_by = clerk_id
        application.revoked_in_unit = unit
        subject = str(application.id)
        assert application.registration_number
        uow.publish(
            REVOKED,
            subject=subject,
            data={
                "certificate_id": subject,
                "citizen_id": str(application.citizen_id),
                "registration_number": application.registration_number,
                "purpose": application.purpose,
                "reason": reason,
                "unit": unit,
                "revoked_at": _iso(now),
                "recipient": {
                    "email": application.recipient_email,
                    "name": application.holder_name,
                    "language": application.language,
                },
            },
        )
        uow.commit()
    return application


def record_verified_identity(uow: UnitOfWork, event: Event) -> None:
    """``identity.verified``: remember that the citizen may apply online (a replay changes nothing)."""
    data = event.data
    citizen_id = uuid.UUID(data["citizen_id"])
    verified_at = datetime.fromisoformat(data["verified_at"].replace("Z", "+00:00"))
    known = uow.session.get(VerifiedCitizen, citizen_id)
    if known is not None and as_utc(known.verified_at) > verified_at:
        return  # an older verification arriving late does not overwrite a newer one
    recipient = data["recipient"]
    uow.session.merge(
        VerifiedCitizen(
            citizen_id=citizen_id,
            method=data["method"],
            assurance_level=data["assurance_level"],
            provider=data.get("provider"),
            unit=data.get("unit"),
            verified_at=verified_at,
            email=recipient["email"],
            name=recipient["name"],
            language=recipient["language"],
        )
    )
