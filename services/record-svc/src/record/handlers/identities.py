"""``identity.verified``: record-svc learns which citizens may apply online; ``account.deleted``: it forgets them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mai_chassis import Event, UnitOfWork
from mai_chassis.personal_data import export_document, row_data, rows_data
from sqlalchemy import delete, select, update

from ..deps import RecordDeps
from ..domain import ApplicationStatus, as_utc
from ..tables import CertificateApplication, VerifiedCitizen

__all__ = ["CitizensData", "export_citizen_data", "forget_account", "record_verified_identity"]


def record_verified_identity(uow: UnitOfWork, event: Event) -> None:
    """Remember that the citizen may apply online (a replay changes nothing; the consumer commits)."""
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


def forget_account(uow: UnitOfWork, event: Event) -> None:
    """A deleted account: the citizen is forgotten, issued certificates stay verifiable but unlinked.

    A certificate (issued or revoked) keeps what its verification needs (number, holder's name, the
    keyed digest of the CNP, the PDF) until the ``expired-certificates`` term ends, without the
    account id or the address it was mailed to; an application that produced no certificate goes.
    A replay finds nothing left to change (the consumer commits).
    """
    citizen_id = uuid.UUID(event.data["account_id"])
    uow.session.execute(delete(VerifiedCitizen).where(VerifiedCitizen.citizen_id == citizen_id))
    certificates = (ApplicationStatus.ISSUED.value, ApplicationStatus.REVOKED.value)
    uow.session.execute(
        delete(CertificateApplication).where(
            CertificateApplication.citizen_id == citizen_id, CertificateApplication.status.not_in(certificates)
        )
    )
    uow.session.execute(
        update(CertificateApplication)
        .where(CertificateApplication.citizen_id == citizen_id)
        .values(citizen_id=None, recipient_email=None)
    )


#: Keyed digests (of the CNP, of the printed code) and the clerks' ids are not the citizen's data.
_NOT_EXPORTED = (
    "citizen_id",
    "holder_cnp_digest",
    "verification_code_digest",
    "revoked_by",
    "issued_by",
    "referral_decided_by",
    "pdf_sha256",
)


@dataclass(frozen=True)
class CitizensData:
    citizen_id: uuid.UUID


def export_citizen_data(uow: UnitOfWork, deps: RecordDeps, query: CitizensData) -> dict[str, Any]:
    """The citizen's certificate applications and certificates, and the verified identity record-svc knows."""
    verified = uow.session.get(VerifiedCitizen, query.citizen_id)
    applications = uow.session.scalars(
        select(CertificateApplication)
        .where(CertificateApplication.citizen_id == query.citizen_id)
        .order_by(CertificateApplication.requested_at)
    )
    return export_document(
        "record-svc",
        str(query.citizen_id),
        {
            "verified_identity": row_data(verified, exclude=("citizen_id",)) if verified is not None else None,
            "certificate_applications": rows_data(applications, exclude=_NOT_EXPORTED),
        },
    )
