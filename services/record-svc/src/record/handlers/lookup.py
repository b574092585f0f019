"""Certificate clerks find a certificate by its number and read its history, in their units only."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from mai_chassis import UnitOfWork
from sqlalchemy import select

from ..deps import RecordDeps
from ..domain import ApplicationStatus, acts_in, as_utc, normalise_registration_number, verification_result
from ..errors import CertificateNotFound
from ..tables import CertificateApplication

__all__ = [
    "CertificateHistory",
    "FindCertificate",
    "HistoryEntry",
    "RevocationDetails",
    "StaffCertificate",
    "certificate_history",
    "certificate_in_units",
    "find_certificate",
    "unit_that_issued",
]


@dataclass(frozen=True, kw_only=True)
class FindCertificate:
    #: The registration number as typed (case and spaces do not matter).
    number: str
    #: The units in which the caller is a certificate clerk (``*``: every unit).
    clerk_units: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class RevocationDetails:
    revoked_at: datetime
    reason: str
    note: str | None
    unit: str
    revoked_by: str | None


@dataclass(frozen=True, kw_only=True)
class StaffCertificate:
    """A certificate as a clerk sees it: the holder's full name, never their CNP."""

    id: uuid.UUID
    registration_number: str
    #: valid, expired or revoked, as of the moment it was read.
    status: str
    purpose: str
    purpose_text: str | None
    holder_name: str
    requested_at: datetime
    issued_at: datetime
    valid_until: datetime
    #: The unit in whose name it was issued (online: the issuing unit; else the counter's).
    issued_in_unit: str
    #: online, or counter (after a referral).
    issued_through: str
    revocation: RevocationDetails | None

    @classmethod
    def of(cls, application: CertificateApplication, deps: RecordDeps, now: datetime) -> StaffCertificate:
        assert application.registration_number and application.issued_at and application.valid_until
        revocation = None
        if application.status == ApplicationStatus.REVOKED and application.revoked_at is not None:
            revocation = RevocationDetails(
                revoked_at=as_utc(application.revoked_at),
                reason=application.revocation_reason or "",
                note=application.revocation_note,
                unit=application.revoked_in_unit or unit_that_issued(application, deps),
                revoked_by=application.revoked_by,
            )
        return cls(
            id=application.id,
            registration_number=application.registration_number,
            status=str(verification_result(application.status, application.valid_until, now)),
            purpose=application.purpose,
            purpose_text=application.purpose_text,
            holder_name=application.holder_name,
            requested_at=as_utc(application.requested_at),
            issued_at=as_utc(application.issued_at),
            valid_until=as_utc(application.valid_until),
            issued_in_unit=unit_that_issued(application, deps),
            issued_through="counter" if application.referred_to_unit else "online",
            revocation=revocation,
        )


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One step of an application's life: requested, referred, referral_decided, issued, revoked."""

    event: str
    at: datetime
    unit: str | None = None
    by: str | None = None
    channel: str | None = None
    reason: str | None = None
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class CertificateHistory:
    certificate_id: uuid.UUID
    registration_number: str
    events: tuple[HistoryEntry, ...]
    #: How many verifications found the certificate (by CNP or code), and the last one.
    verifications: int
    last_verified_at: datetime | None


def unit_that_issued(application: CertificateApplication, deps: RecordDeps) -> str:
    """The unit in whose name the certificate was issued (older rows: the online issuing unit)."""
    return application.issued_in_unit or deps.issuing_unit


def certificate_in_units(
    uow: UnitOfWork, deps: RecordDeps, number: str, clerk_units: Collection[str], *, for_update: bool = False
) -> CertificateApplication:
    """The certificate with ``number`` if a clerk of ``clerk_units`` may see it; another unit's
    certificate is not found, exactly like a number nobody was given."""
    normalised = normalise_registration_number(number)
    application = None
    if normalised is not None:
        statement = select(CertificateApplication).where(CertificateApplication.registration_number == normalised)
        application = uow.session.scalar(statement.with_for_update() if for_update else statement)
    if application is None or not acts_in(clerk_units, unit_that_issued(application, deps)):
        raise CertificateNotFound("No certificate with this number was issued in your units.")
    return application


def find_certificate(uow: UnitOfWork, deps: RecordDeps, query: FindCertificate) -> StaffCertificate:
    application = certificate_in_units(uow, deps, query.number, query.clerk_units)
    return StaffCertificate.of(application, deps, uow.clock.now())


def certificate_history(uow: UnitOfWork, deps: RecordDeps, query: FindCertificate) -> CertificateHistory:
    """What happened to the certificate, oldest first, and how often it was verified."""
    application = certificate_in_units(uow, deps, query.number, query.clerk_units)
    assert application.registration_number and application.issued_at
    events = [HistoryEntry(event="requested", at=as_utc(application.requested_at), channel=application.channel)]
    if application.referred_to_unit:
        events.append(
            HistoryEntry(
                event="referred",
                at=as_utc(application.requested_at),
                unit=application.referred_to_unit,
                reason=application.referral_reason,
            )
        )
    if application.referral_decided_at is not None:
        events.append(
            HistoryEntry(
                event="referral_decided",
                at=as_utc(application.referral_decided_at),
                unit=application.referred_to_unit,
                by=application.referral_decided_by,
                outcome=application.referral_outcome,
                note=application.referral_note,
            )
        )
    events.append(
        HistoryEntry(
            event="issued",
            at=as_utc(application.issued_at),
            unit=unit_that_issued(application, deps),
            by=application.issued_by,
            channel="counter" if application.referred_to_unit else "online",
        )
    )
    if application.revoked_at is not None:
        events.append(
            HistoryEntry(
                event="revoked",
                at=as_utc(application.revoked_at),
                unit=application.revoked_in_unit,
                by=application.revoked_by,
                reason=application.revocation_reason,
                note=application.revocation_note,
            )
        )
    return CertificateHistory(
        certificate_id=application.id,
        registration_number=application.registration_number,
        events=tuple(events),
        verifications=application.verifications or 0,
        last_verified_at=as_utc(application.last_verified_at) if application.last_verified_at else None,
    )
