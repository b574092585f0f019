"""The events record-svc publishes, one past-tense class per contract in ``contracts/events/``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from mai_chassis.events import DomainEvent, Recipient

__all__ = [
    "CertificateIssued",
    "CertificateReferralDecided",
    "CertificateRefused",
    "CertificateRequested",
    "CertificateRevoked",
    "Recipient",
]


@dataclass(frozen=True, kw_only=True)
class _CertificateEvent(DomainEvent):
    subject_field: ClassVar[str] = "certificate_id"

    certificate_id: uuid.UUID
    citizen_id: uuid.UUID

    def to_data(self) -> dict[str, Any]:
        # Instants are written as ...Z, as record-svc always has (consumers compare them as strings).
        return {
            name: value.replace("+00:00", "Z") if isinstance(getattr(self, name), datetime) else value
            for name, value in super().to_data().items()
        }


@dataclass(frozen=True, kw_only=True)
class CertificateRequested(_CertificateEvent):
    type: ClassVar[str] = "ro.mai.certificate.requested.v1"

    purpose: str
    channel: str
    requested_at: datetime


@dataclass(frozen=True, kw_only=True)
class CertificateIssued(_CertificateEvent):
    type: ClassVar[str] = "ro.mai.certificate.issued.v1"

    registration_number: str
    purpose: str
    issued_at: datetime
    valid_until: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class CertificateRefused(_CertificateEvent):
    """Referred to a counter (a registry entry): no certificate was produced online."""

    type: ClassVar[str] = "ro.mai.certificate.refused.v1"

    purpose: str
    reason: str
    referred_to_unit: str
    refused_at: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class CertificateRevoked(_CertificateEvent):
    type: ClassVar[str] = "ro.mai.certificate.revoked.v1"

    registration_number: str
    purpose: str
    reason: str
    unit: str
    revoked_at: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class CertificateReferralDecided(_CertificateEvent):
    """A counter officer recorded what the counter found about a referred application."""

    type: ClassVar[str] = "ro.mai.certificate.referral_decided.v1"

    purpose: str
    outcome: str
    unit: str
    decided_at: datetime
