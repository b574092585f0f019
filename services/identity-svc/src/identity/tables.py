"""identity-svc's own tables. Secrets are stored hashed, CNPs and document numbers encrypted."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Timestamp = DateTime(timezone=True)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="ro")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    assurance_level: Mapped[str] = mapped_column(String(16), default="none")
    verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CivilStatusRecord(Base):
    """A citizen's civil-status profile; ``cnp_sealed`` is the CNP encrypted at rest."""

    __tablename__ = "civil_status"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    cnp_sealed: Mapped[str] = mapped_column(Text)
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(String(200))
    father_first_name: Mapped[str | None] = mapped_column(String(100))
    mother_first_name: Mapped[str | None] = mapped_column(String(100))
    citizenship: Mapped[str] = mapped_column(String(2), default="RO")
    address: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class StaffRoleGrant(Base):
    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("account_id", "role", "unit", name="uq_staff_roles_grant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    granted_at: Mapped[datetime] = mapped_column(Timestamp)


class MailChallenge(Base):
    """A one-time code mailed to the account's address (confirmation or password reset)."""

    __tablename__ = "mail_challenges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class RefreshToken(Base):
    """One refresh token of a login session (a family); only its SHA-256 digest is stored."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    session_expires_at: Mapped[datetime] = mapped_column(Timestamp)
    rotated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class LoginThrottle(Base):
    """Consecutive failed logins of one scope (``account:<email>`` or ``address:<ip>``)."""

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(Timestamp)


class FormRequests(Base):
    """Anonymous mail-sending form requests of one client (hashed) in its window, counted only
    while a form challenge is configured."""

    __tablename__ = "form_requests"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    requests: Mapped[int] = mapped_column(Integer)


class SigningKey(Base):
    """A JWT signing key; the private key is encrypted with ``IDENTITY_ENCRYPTION_KEYS``.

    Published in the JWKS from creation; signs from ``signs_from`` until ``signs_until``; stays
    published until every token it signed has expired.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), default="access")
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    private_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    signs_from: Mapped[datetime] = mapped_column(Timestamp)
    signs_until: Mapped[datetime | None] = mapped_column(Timestamp)
    unpublish_after: Mapped[datetime | None] = mapped_column(Timestamp)


class VerificationAttempt(Base):
    """A citizen sent to an OpenID Connect provider, awaiting the code it returns.

    Bound to the account that started it: only that account's token can finish it, once.
    ``code_verifier_sealed`` is the PKCE verifier, encrypted like a CNP.
    """

    __tablename__ = "verification_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    state_digest: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier_sealed: Mapped[str | None] = mapped_column(Text)
    redirect_uri: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class IdentityVerification(Base):
    """How a citizen's identity was verified (provider, or counter and document checked)."""

    __tablename__ = "identity_verifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    document_type: Mapped[str | None] = mapped_column(String(32))
    document_number_sealed: Mapped[str | None] = mapped_column(Text)
    assurance_level: Mapped[str] = mapped_column(String(16))
    verified_at: Mapped[datetime] = mapped_column(Timestamp)
    #: Keyed digest of the provider's ``sub``: one person at a provider verifies one account only.
    subject_digest: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "uq_identity_verifications_provider_subject",
            "provider",
            "subject_digest",
            unique=True,
            postgresql_where=text("subject_digest IS NOT NULL"),
            sqlite_where=text("subject_digest IS NOT NULL"),
        ),
    )


class CounterCode(Base):
    """The short code a citizen shows a counter clerk; stored as a digest, expires soon."""

    __tablename__ = "counter_codes"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class StaffAuditEntry(Base):
    """What a staff member did, to whom, in which unit. Never a CNP or a document number."""

    __tablename__ = "staff_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    unit: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class StaffSecondFactor(Base):
    """A staff member's TOTP (RFC 6238) secret, encrypted like a CNP; active once ``confirmed_at`` is set.

    ``last_step`` is the time step of the last code accepted: a code of that step or an earlier
    one is never accepted again.
    """

    __tablename__ = "staff_second_factors"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_step: Mapped[int | None] = mapped_column(Integer)


class StaffRecoveryCode(Base):
    """A single-use recovery code of a staff member, kept as a keyed hash."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class StaffSecurityKey(Base):
    """A staff member's WebAuthn credential (a security key or a passkey), named by its owner.

    Only public data: the credential id, its COSE public key and the authenticator's signature
    counter, which must grow with every sign-in unless the authenticator keeps none (always 0).
    """

    __tablename__ = "staff_security_keys"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str | None] = mapped_column(String(200))
    aaguid: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)
