"""The events identity-svc publishes (each checked against its contract in ``contracts/`` when published)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from mai_chassis.events import DomainEvent, Recipient

__all__ = [
    "AccountDeleted",
    "AccountRegistered",
    "EmailConfirmationRequested",
    "IdentityVerified",
    "LoginThrottled",
    "PasswordResetRequested",
    "Recipient",
    "RegistrationRepeated",
]


@dataclass(frozen=True)
class AccountRegistered(DomainEvent):
    type: ClassVar[str] = "ro.mai.account.registered.v1"
    subject_field: ClassVar[str] = "citizen_id"

    citizen_id: uuid.UUID
    channel: str
    registered_at: datetime
    recipient: Recipient


@dataclass(frozen=True)
class RegistrationRepeated(DomainEvent):
    """Someone registered again with a citizen's address: the owner is told, nobody else learns it."""

    type: ClassVar[str] = "ro.mai.account.registration_repeated.v1"
    subject_field: ClassVar[str] = "citizen_id"

    citizen_id: uuid.UUID
    attempted_at: datetime
    recipient: Recipient


@dataclass(frozen=True)
class EmailConfirmationRequested(DomainEvent):
    type: ClassVar[str] = "ro.mai.account.email_confirmation_requested.v1"
    subject_field: ClassVar[str] = "citizen_id"

    citizen_id: uuid.UUID
    reason: str  # registered | resent
    sealed_confirmation: str
    expires_at: datetime
    recipient: Recipient


@dataclass(frozen=True)
class PasswordResetRequested(DomainEvent):
    type: ClassVar[str] = "ro.mai.account.password_reset_requested.v1"
    subject_field: ClassVar[str] = "account_id"

    account_id: uuid.UUID
    purpose: str  # password_reset | staff_invitation
    sealed_reset: str
    expires_at: datetime
    recipient: Recipient


@dataclass(frozen=True)
class LoginThrottled(DomainEvent):
    """Failed logins started slowing logins to the account down (its owner is mailed)."""

    type: ClassVar[str] = "ro.mai.account.login_throttled.v1"
    subject_field: ClassVar[str] = "account_id"

    account_id: uuid.UUID
    failed_attempts: int
    throttled_at: datetime
    recipient: Recipient


@dataclass(frozen=True)
class IdentityVerified(DomainEvent):
    type: ClassVar[str] = "ro.mai.identity.verified.v1"
    subject_field: ClassVar[str] = "citizen_id"

    citizen_id: uuid.UUID
    method: str  # eid_provider | counter
    assurance_level: str
    verified_at: datetime
    recipient: Recipient
    provider: str | None = None  # method eid_provider
    unit: str | None = None  # method counter

    def to_data(self) -> dict[str, Any]:
        """The contract has no null ``provider`` or ``unit``: the one a method does not use is left out."""
        data = super().to_data()
        for optional in ("provider", "unit"):
            if data[optional] is None:
                del data[optional]
        return data


@dataclass(frozen=True)
class AccountDeleted(DomainEvent):
    """A citizen's account is gone: every service follows (deletes, or unlinks what it must keep)."""

    type: ClassVar[str] = "ro.mai.account.deleted.v1"
    subject_field: ClassVar[str] = "account_id"

    account_id: uuid.UUID
    reason: str  # citizen_request | inactivity
    deleted_at: datetime
    recipient: Recipient
