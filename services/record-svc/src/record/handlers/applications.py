"""A citizen applies for a certificate, lists their applications, and downloads a valid one."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mai_chassis import UnitOfWork
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..deps import RecordDeps
from ..document import CertificateContent
from ..domain import (
    ApplicationStatus,
    CivilStatus,
    Purpose,
    VerificationResult,
    application_day,
    as_utc,
    format_registration_number,
    format_verification_code,
    has_sufficient_assurance,
    new_verification_code,
    valid_until,
    verification_result,
)
from ..errors import CertificateNotDownloadable, CertificateNotFound, ContactUnknown, IdentityNotVerified
from ..events import CertificateIssued, CertificateRefused, CertificateRequested, Recipient
from ..metrics import APPLICATIONS, ISSUE_SECONDS, SERVICE
from ..tables import REGISTRATION_SEQUENCE, CertificateApplication, RegistrationNumberAllocation, VerifiedCitizen

__all__ = [
    "ApplyForCertificate",
    "CertificatePdf",
    "CertificateSummary",
    "DownloadCertificate",
    "ListCertificates",
    "Referral",
    "ShowCertificate",
    "apply_for_certificate",
    "download_certificate",
    "issue_certificate",
    "list_certificates",
    "show_certificate",
]


@dataclass(frozen=True, kw_only=True)
class ApplyForCertificate:
    """A citizen's application, with what their access token says about them."""

    citizen_id: uuid.UUID
    assurance: str
    #: The citizen's own token: civil-status data is fetched from identity-svc with it.
    bearer_token: str = field(repr=False)
    email: str | None = None
    purpose: str
    purpose_text: str | None = None
    language: str | None = None
    channel: str = "web"


@dataclass(frozen=True)
class ListCertificates:
    citizen_id: uuid.UUID


@dataclass(frozen=True)
class ShowCertificate:
    citizen_id: uuid.UUID
    certificate_id: uuid.UUID


@dataclass(frozen=True)
class DownloadCertificate:
    citizen_id: uuid.UUID
    certificate_id: uuid.UUID


@dataclass(frozen=True)
class Referral:
    reason: str
    unit: str


@dataclass(frozen=True, kw_only=True)
class CertificateSummary:
    """An application as its holder sees it, its status as of the moment it was read."""

    id: uuid.UUID
    #: valid, expired, revoked, or referred (to a counter: no certificate).
    status: str
    purpose: str
    purpose_text: str | None
    requested_at: datetime
    registration_number: str | None
    issued_at: datetime | None
    valid_until: datetime | None
    referral: Referral | None

    @classmethod
    def of(cls, application: CertificateApplication, now: datetime) -> CertificateSummary:
        referred = application.status == ApplicationStatus.REFERRED
        return cls(
            id=application.id,
            status="referred"
            if referred
            else str(verification_result(application.status, application.valid_until, now)),
            purpose=application.purpose,
            purpose_text=application.purpose_text,
            requested_at=as_utc(application.requested_at),
            registration_number=application.registration_number,
            issued_at=as_utc(application.issued_at) if application.issued_at else None,
            valid_until=as_utc(application.valid_until) if application.valid_until else None,
            referral=Referral(application.referral_reason or "", application.referred_to_unit or "")
            if referred
            else None,
        )


@dataclass(frozen=True)
class CertificatePdf:
    registration_number: str
    content: bytes = field(repr=False)


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


def issue_certificate(
    deps: RecordDeps, session: Session, application: CertificateApplication, holder: CivilStatus, purpose: Purpose
) -> None:
    """Number, render, sign and store the certificate of ``application`` (not yet committed)."""
    assert application.issued_at is not None and application.valid_until is not None
    number = _next_registration_number(session, application.issued_at)
    code = new_verification_code()
    with ISSUE_SECONDS.labels(SERVICE).time():
        pdf = deps.maker.make(
            CertificateContent(
                registration_number=number,
                holder=holder,
                purpose=purpose,
                purpose_text=application.purpose_text,
                issued_at=application.issued_at,
                valid_until=application.valid_until,
                verification_url=deps.verification_url(number),
                verification_code=format_verification_code(code),
                qr_url=deps.qr_url(number, code),
            )
        )
    application.registration_number = number
    application.verification_code_digest = deps.hasher.code_digest(code)
    application.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    deps.store.put(application.id, pdf)


def apply_for_certificate(
    uow: UnitOfWork, deps: RecordDeps, command: ApplyForCertificate
) -> tuple[CertificateSummary, bool]:
    """Apply; returns the application and whether it is new (False: today's one for this purpose).

    No registry entry: the certificate is issued at once (rendered, signed, stored). An entry: the
    application is referred to a counter and no certificate is produced.
    """
    purpose, purpose_text = deps.purposes.resolve(command.purpose, command.purpose_text)
    now = uow.clock.now()
    verified = uow.session.get(VerifiedCitizen, command.citizen_id)
    existing = _application_of_the_day(uow.session, command.citizen_id, purpose.code, now)
    verified_online = has_sufficient_assurance(command.assurance)
    if not (verified_online or (verified and has_sufficient_assurance(verified.assurance_level))):
        raise IdentityNotVerified()
    if existing is not None:
        return CertificateSummary.of(existing, now), False
    known_email, known_language = (verified.email, verified.language) if verified else (None, None)
    # The reads are done: no database connection is held while identity-svc and the registry answer.
    uow.rollback()

    holder = deps.civil_status.fetch(command.bearer_token)
    email = holder.email or known_email or command.email
    if not email:
        raise ContactUnknown()
    language = command.language or known_language or "ro"
    answer = deps.registry.check(holder.cnp)

    application = CertificateApplication(
        id=uuid.uuid4(),
        citizen_id=command.citizen_id,
        purpose=purpose.code,
        purpose_text=purpose_text,
        application_day=application_day(now),
        channel=command.channel,
        requested_at=now,
        holder_cnp_digest=deps.hasher.digest(holder.cnp),
        holder_name=holder.full_name,
        recipient_email=email,
        language=language,
    )
    recipient = Recipient(email=email, name=holder.full_name, language=language)
    if answer.has_entry:
        application.status = ApplicationStatus.REFERRED
        application.referral_reason = "registry_entry"
        application.referred_to_unit = answer.unit or deps.default_referral_unit
    else:
        application.status = ApplicationStatus.ISSUED
        application.issued_at = now
        application.valid_until = valid_until(now)
        application.issued_in_unit = deps.issuing_unit

    try:
        if application.status == ApplicationStatus.ISSUED:
            issue_certificate(deps, uow.session, application, holder, purpose)
        uow.session.add(application)
        uow.publish(
            CertificateRequested(
                certificate_id=application.id,
                citizen_id=command.citizen_id,
                purpose=application.purpose,
                channel=command.channel,
                requested_at=now,
            )
        )
        if application.status == ApplicationStatus.ISSUED:
            assert application.registration_number and application.valid_until
            uow.publish(
                CertificateIssued(
                    certificate_id=application.id,
                    citizen_id=command.citizen_id,
                    registration_number=application.registration_number,
                    purpose=application.purpose,
                    issued_at=now,
                    valid_until=application.valid_until,
                    recipient=recipient,
                )
            )
        else:
            assert application.referral_reason and application.referred_to_unit
            uow.publish(
                CertificateRefused(
                    certificate_id=application.id,
                    citizen_id=command.citizen_id,
                    purpose=application.purpose,
                    reason=application.referral_reason,
                    referred_to_unit=application.referred_to_unit,
                    refused_at=now,
                    recipient=recipient,
                )
            )
        uow.commit()
    except IntegrityError:
        # A concurrent request for the same purpose won today's slot: answer with its application.
        deps.store.discard(application.id)
        uow.rollback()
        existing = _application_of_the_day(uow.session, command.citizen_id, purpose.code, now)
        if existing is None:
            raise
        return CertificateSummary.of(existing, now), False
    except BaseException:
        deps.store.discard(application.id)  # never keep a file whose application was not saved
        raise
    APPLICATIONS.labels(SERVICE, str(application.status)).inc()
    return CertificateSummary.of(application, now), True


def list_certificates(uow: UnitOfWork, deps: RecordDeps, query: ListCertificates) -> Sequence[CertificateSummary]:
    """The citizen's applications and certificates, newest first."""
    now = uow.clock.now()
    rows = uow.session.scalars(
        select(CertificateApplication)
        .where(CertificateApplication.citizen_id == query.citizen_id)
        .order_by(CertificateApplication.requested_at.desc())
        .limit(200)
    ).all()
    return [CertificateSummary.of(row, now) for row in rows]


def _holders_application(uow: UnitOfWork, citizen_id: uuid.UUID, certificate_id: uuid.UUID) -> CertificateApplication:
    application = uow.session.get(CertificateApplication, certificate_id)
    if application is None or application.citizen_id != citizen_id:
        raise CertificateNotFound()
    return application


def show_certificate(uow: UnitOfWork, deps: RecordDeps, query: ShowCertificate) -> CertificateSummary:
    return CertificateSummary.of(_holders_application(uow, query.citizen_id, query.certificate_id), uow.clock.now())


def download_certificate(uow: UnitOfWork, deps: RecordDeps, query: DownloadCertificate) -> CertificatePdf:
    """The signed PDF, for its holder only and only while it is valid."""
    application = _holders_application(uow, query.citizen_id, query.certificate_id)
    result = verification_result(application.status, application.valid_until, uow.clock.now())
    if result is not VerificationResult.VALID:
        raise CertificateNotDownloadable(result if application.status != ApplicationStatus.REFERRED else "referred")
    pdf = deps.store.get(application.id)
    if pdf is None:
        raise RuntimeError(f"stored certificate {application.id} is missing")
    assert application.registration_number
    return CertificatePdf(application.registration_number, pdf)
