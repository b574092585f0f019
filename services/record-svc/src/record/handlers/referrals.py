"""Counter officers work the applications referred to their units' counters because of a registry
entry: they see the referral, record its outcome, and issue the certificate at the counter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from mai_chassis import UnitOfWork
from mai_chassis.staff_actions import AuditSubject, record_staff_action
from sqlalchemy import select

from ..deps import RecordDeps
from ..domain import (
    ANY_UNIT,
    ApplicationStatus,
    CivilStatus,
    ReferralOutcome,
    VerificationResult,
    acts_in,
    as_utc,
    valid_until,
    verification_result,
)
from ..errors import (
    CertificateNotDownloadable,
    HolderMismatch,
    ReferralAlreadyDecided,
    ReferralNotCleared,
    ReferralNotFound,
)
from ..events import CertificateIssued, CertificateReferralDecided, Recipient
from ..metrics import APPLICATIONS, SERVICE
from ..tables import CertificateApplication
from .applications import CertificatePdf, issue_certificate
from .lookup import StaffCertificate

__all__ = [
    "DecideReferral",
    "IssueAtCounter",
    "ListReferrals",
    "PrintAtCounter",
    "ReferralCase",
    "ShowReferral",
    "decide_referral",
    "issue_at_counter",
    "list_referrals",
    "print_at_counter",
    "show_referral",
]

#: How many referrals a page of the counter's list holds at most.
REFERRALS_PAGE = 200


@dataclass(frozen=True, kw_only=True)
class ListReferrals:
    #: The units in which the caller is a counter officer (``*``: every unit).
    officer_units: frozenset[str]
    #: awaiting (no outcome yet), cleared (to issue), decided (any outcome), or all.
    state: str = "awaiting"
    #: Only this unit's counter (it must be one of the officer's).
    unit: str | None = None


@dataclass(frozen=True, kw_only=True)
class ShowReferral:
    certificate_id: uuid.UUID
    officer_units: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class DecideReferral:
    certificate_id: uuid.UUID
    officer_id: str
    officer_units: frozenset[str]
    outcome: ReferralOutcome
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class IssueAtCounter:
    """The applicant at the counter, as read from the identity document the officer checked."""

    certificate_id: uuid.UUID
    officer_id: str
    officer_units: frozenset[str]
    cnp: str = field(repr=False)
    last_name: str
    first_name: str
    birth_date: date


@dataclass(frozen=True, kw_only=True)
class PrintAtCounter:
    """The signed PDF of a certificate issued at the officer's counter, to hand to the applicant."""

    certificate_id: uuid.UUID
    officer_id: str
    officer_units: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class ReferralDecision:
    outcome: str
    note: str | None
    decided_at: datetime
    decided_by: str | None


@dataclass(frozen=True, kw_only=True)
class ReferralCase:
    """A referred application as the counter officer sees it (the CNP is never kept, so never shown)."""

    id: uuid.UUID
    citizen_id: uuid.UUID | None  # None once the holder deleted their account (an issued certificate)
    holder_name: str
    purpose: str
    purpose_text: str | None
    requested_at: datetime
    reason: str
    unit: str
    #: awaiting, cleared, entry_confirmed, withdrawn, or issued (at the counter).
    state: str
    decision: ReferralDecision | None
    registration_number: str | None

    @classmethod
    def of(cls, application: CertificateApplication) -> ReferralCase:
        assert application.referred_to_unit
        decision = None
        if application.referral_outcome and application.referral_decided_at:
            decision = ReferralDecision(
                outcome=application.referral_outcome,
                note=application.referral_note,
                decided_at=as_utc(application.referral_decided_at),
                decided_by=application.referral_decided_by,
            )
        issued = application.status != ApplicationStatus.REFERRED
        return cls(
            id=application.id,
            citizen_id=application.citizen_id,
            holder_name=application.holder_name,
            purpose=application.purpose,
            purpose_text=application.purpose_text,
            requested_at=as_utc(application.requested_at),
            reason=application.referral_reason or "registry_entry",
            unit=application.referred_to_unit,
            state="issued" if issued else application.referral_outcome or "awaiting",
            decision=decision,
            registration_number=application.registration_number,
        )


def _holder(application: CertificateApplication) -> tuple[uuid.UUID, str]:
    """The account and address of a referral still to decide or issue: a deleted account's referrals
    are deleted with it (only issued certificates stay, unlinked)."""
    assert application.citizen_id is not None and application.recipient_email is not None
    return application.citizen_id, application.recipient_email


def _referral_in_units(
    uow: UnitOfWork, certificate_id: uuid.UUID, officer_units: frozenset[str], *, for_update: bool = False
) -> CertificateApplication:
    """The referred application if it went to a counter of the officer's units; else not found."""
    application = uow.session.get(CertificateApplication, certificate_id, with_for_update=for_update)
    if (
        application is None
        or application.referred_to_unit is None
        or not acts_in(officer_units, application.referred_to_unit)
    ):
        raise ReferralNotFound()
    return application


def list_referrals(uow: UnitOfWork, deps: RecordDeps, query: ListReferrals) -> Sequence[ReferralCase]:
    """The referrals of the officer's units, oldest first (the order people are served in)."""
    statement = select(CertificateApplication).where(CertificateApplication.referred_to_unit.is_not(None))
    if query.unit is not None:
        if not acts_in(query.officer_units, query.unit):
            return []
        statement = statement.where(CertificateApplication.referred_to_unit == query.unit)
    elif ANY_UNIT not in query.officer_units:
        statement = statement.where(CertificateApplication.referred_to_unit.in_(sorted(query.officer_units)))
    referred = CertificateApplication.status == ApplicationStatus.REFERRED
    if query.state == "awaiting":
        statement = statement.where(referred, CertificateApplication.referral_outcome.is_(None))
    elif query.state == "cleared":
        statement = statement.where(referred, CertificateApplication.referral_outcome == ReferralOutcome.CLEARED)
    elif query.state == "decided":
        statement = statement.where(CertificateApplication.referral_outcome.is_not(None))
    rows = uow.session.scalars(statement.order_by(CertificateApplication.requested_at).limit(REFERRALS_PAGE)).all()
    return [ReferralCase.of(row) for row in rows]


def show_referral(uow: UnitOfWork, deps: RecordDeps, query: ShowReferral) -> ReferralCase:
    return ReferralCase.of(_referral_in_units(uow, query.certificate_id, query.officer_units))


def _record_counter_action(uow: UnitOfWork, officer_id: str, action: str, application: CertificateApplication) -> None:
    """The audit trail's record of a counter clerk's ``action`` on a referred application, in the unit it was
    referred to."""
    assert application.referred_to_unit
    record_staff_action(
        uow,
        officer_id,
        action=action,
        subject=AuditSubject("certificate", application.id, application.registration_number),
        role="counter_clerk",
        unit=application.referred_to_unit,
    )


def decide_referral(uow: UnitOfWork, deps: RecordDeps, command: DecideReferral) -> ReferralCase:
    """Record what the counter found, once: the entry does not bar a certificate (cleared), it
    stands (entry_confirmed: the registry's own procedure follows), or the applicant withdrew."""
    application = _referral_in_units(uow, command.certificate_id, command.officer_units, for_update=True)
    if application.referral_outcome is not None:
        raise ReferralAlreadyDecided(application.referral_outcome)
    if application.status != ApplicationStatus.REFERRED:
        raise ReferralAlreadyDecided("issued")
    now = uow.clock.now()
    application.referral_outcome = command.outcome
    application.referral_note = command.note
    application.referral_decided_at = now
    application.referral_decided_by = command.officer_id
    assert application.referred_to_unit
    _record_counter_action(uow, command.officer_id, "certificate.decide_referral", application)
    citizen_id, _ = _holder(application)
    uow.publish(
        CertificateReferralDecided(
            certificate_id=application.id,
            citizen_id=citizen_id,
            purpose=application.purpose,
            outcome=str(command.outcome),
            unit=application.referred_to_unit,
            decided_at=now,
        )
    )
    uow.commit()
    return ReferralCase.of(application)


def issue_at_counter(uow: UnitOfWork, deps: RecordDeps, command: IssueAtCounter) -> StaffCertificate:
    """Issue the certificate of a cleared referral to the applicant in front of the officer: the
    same signed PDF as online, in the name of the counter's unit, downloadable by the holder."""
    application = _referral_in_units(uow, command.certificate_id, command.officer_units, for_update=True)
    if application.status != ApplicationStatus.REFERRED or application.referral_outcome != ReferralOutcome.CLEARED:
        raise ReferralNotCleared(
            "issued" if application.status != ApplicationStatus.REFERRED else application.referral_outcome
        )
    if not deps.hasher.matches(command.cnp, application.holder_cnp_digest):
        raise HolderMismatch()
    purpose, _ = deps.purposes.resolve(application.purpose, application.purpose_text)
    holder = CivilStatus(
        cnp=command.cnp, last_name=command.last_name, first_name=command.first_name, birth_date=command.birth_date
    )
    now = uow.clock.now()
    assert application.referred_to_unit
    application.status = ApplicationStatus.ISSUED
    application.issued_at = now
    application.valid_until = valid_until(now)
    application.issued_in_unit = application.referred_to_unit
    application.issued_by = command.officer_id
    application.holder_name = holder.full_name  # as printed, from the document checked
    try:
        issue_certificate(deps, uow.session, application, holder, purpose)
        assert application.registration_number
        _record_counter_action(uow, command.officer_id, "certificate.issue_at_counter", application)
        citizen_id, email = _holder(application)
        uow.publish(
            CertificateIssued(
                certificate_id=application.id,
                citizen_id=citizen_id,
                registration_number=application.registration_number,
                purpose=application.purpose,
                issued_at=now,
                valid_until=application.valid_until,
                recipient=Recipient(email=email, name=application.holder_name, language=application.language),
            )
        )
        uow.commit()
    except BaseException:
        deps.store.discard(application.id)  # never keep a file whose issue was not saved
        raise
    APPLICATIONS.labels(SERVICE, "issued_at_counter").inc()
    return StaffCertificate.of(application, deps, now)


def print_at_counter(uow: UnitOfWork, deps: RecordDeps, command: PrintAtCounter) -> CertificatePdf:
    """The signed PDF of a certificate issued at a counter of the officer's units, while it is valid;
    each copy handed out is on the audit trail."""
    application = _referral_in_units(uow, command.certificate_id, command.officer_units)
    if application.status == ApplicationStatus.REFERRED:
        raise ReferralNotCleared(application.referral_outcome)
    result = verification_result(application.status, application.valid_until, uow.clock.now())
    if result is not VerificationResult.VALID:
        raise CertificateNotDownloadable(result)
    pdf = deps.store.get(application.id)
    if pdf is None:
        raise RuntimeError(f"stored certificate {application.id} is missing")
    assert application.registration_number and application.referred_to_unit
    record_staff_action(
        uow,
        command.officer_id,
        action="certificate.print_at_counter",
        subject=AuditSubject("certificate", application.id, application.registration_number),
        role="counter_clerk",
        unit=application.referred_to_unit,
    )
    uow.commit()
    return CertificatePdf(application.registration_number, pdf)
