"""A certificate clerk of the unit that issued a certificate revokes it, by id or by its number."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from mai_chassis import UnitOfWork
from mai_chassis.staff_actions import AuditSubject, record_staff_action

from ..deps import RecordDeps
from ..domain import ApplicationStatus, acts_in
from ..errors import CertificateNotFound, CertificateNotRevocable, RevocationForbidden
from ..events import CertificateRevoked, Recipient
from ..tables import CertificateApplication
from .lookup import certificate_in_units, unit_that_issued

__all__ = [
    "Revocation",
    "RevokeCertificate",
    "RevokeCertificateByNumber",
    "revoke_certificate",
    "revoke_certificate_by_number",
]


@dataclass(frozen=True, kw_only=True)
class RevokeCertificate:
    certificate_id: uuid.UUID
    clerk_id: str
    #: The units in which the caller is a certificate clerk (``*``: every unit).
    clerk_units: frozenset[str]
    #: The unit the clerk says they act in, if they said; it must be the issuing unit.
    unit: str | None
    reason: str
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class RevokeCertificateByNumber:
    #: The registration number as typed (case and spaces do not matter).
    number: str
    clerk_id: str
    clerk_units: frozenset[str]
    reason: str
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Revocation:
    id: uuid.UUID
    status: str
    registration_number: str
    revoked_at: datetime
    reason: str
    unit: str


def revoke_certificate(uow: UnitOfWork, deps: RecordDeps, command: RevokeCertificate) -> Revocation:
    # A certificate is revoked in the name of the unit that issued it, by that unit's clerks only:
    # a clerk elsewhere (or an admin) asks them, and the audit trail names who decided.
    application = uow.session.get(CertificateApplication, command.certificate_id, with_for_update=True)
    if application is None:
        raise CertificateNotFound()
    unit = unit_that_issued(application, deps)
    if command.unit not in (None, unit) or not acts_in(command.clerk_units, unit):
        raise RevocationForbidden(unit)
    return _revoke(uow, application, unit, clerk_id=command.clerk_id, reason=command.reason, note=command.note)


def revoke_certificate_by_number(uow: UnitOfWork, deps: RecordDeps, command: RevokeCertificateByNumber) -> Revocation:
    """The clerk's way: by the number printed on the certificate; another unit's is not found."""
    application = certificate_in_units(uow, deps, command.number, command.clerk_units, for_update=True)
    unit = unit_that_issued(application, deps)
    return _revoke(uow, application, unit, clerk_id=command.clerk_id, reason=command.reason, note=command.note)


def _revoke(
    uow: UnitOfWork, application: CertificateApplication, unit: str, *, clerk_id: str, reason: str, note: str | None
) -> Revocation:
    if application.status != ApplicationStatus.ISSUED:
        raise CertificateNotRevocable(application.status)
    now = uow.clock.now()
    application.status = ApplicationStatus.REVOKED
    application.revoked_at = now
    application.revocation_reason = reason
    application.revocation_note = note
    application.revoked_by = clerk_id
    application.revoked_in_unit = unit
    assert application.registration_number
    record_staff_action(
        uow,
        clerk_id,
        action="certificate.revoke",
        subject=AuditSubject("certificate", application.id, application.registration_number),
        role="certificate_clerk",
        unit=unit,
    )
    # A holder who deleted their account is nobody to tell (the verification still says revoked).
    if application.citizen_id is not None and application.recipient_email is not None:
        uow.publish(
            CertificateRevoked(
                certificate_id=application.id,
                citizen_id=application.citizen_id,
                registration_number=application.registration_number,
                purpose=application.purpose,
                reason=reason,
                unit=unit,
                revoked_at=now,
                recipient=Recipient(
                    email=application.recipient_email, name=application.holder_name, language=application.language
                ),
            )
        )
    uow.commit()
    return Revocation(
        id=application.id,
        status="revoked",
        registration_number=application.registration_number,
        revoked_at=now,
        reason=reason,
        unit=unit,
    )
