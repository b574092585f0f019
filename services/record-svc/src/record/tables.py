"""record-svc's own tables: verified citizens, applications and certificates, the registry copy."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, MetaData, Sequence, String, Text, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT (identity).
_BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VerifiedCitizen(Base):
    """A citizen whose identity identity-svc verified (from ``identity.verified``)."""

    __tablename__ = "verified_citizens"

    citizen_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    method: Mapped[str] = mapped_column(String(20))
    assurance_level: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))


class CertificateApplication(Base):
    """An application and, when issued, its certificate (one row: the id is kept through its life)."""

    __tablename__ = "certificate_applications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: None once the holder's account was deleted (the certificate stays verifiable, unlinked).
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(64))
    purpose_text: Mapped[str | None] = mapped_column(String(500))
    #: Romanian calendar day of the application: one per citizen, purpose and day.
    application_day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: HMAC-SHA256 of the holder's CNP under REGISTRY_HASH_KEY (hex); the CNP itself is not kept.
    holder_cnp_digest: Mapped[str] = mapped_column(String(64))
    holder_name: Mapped[str] = mapped_column(String(200))
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    registration_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    #: Keyed hash of the verification code printed on the certificate (the code itself is not kept).
    verification_code_digest: Mapped[str | None] = mapped_column(String(64))
    referral_reason: Mapped[str | None] = mapped_column(String(32))
    referred_to_unit: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    revocation_note: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_in_unit: Mapped[str | None] = mapped_column(String(64))
    #: The unit in whose name the certificate was issued (None on older rows: the online issuing unit).
    issued_in_unit: Mapped[str | None] = mapped_column(String(64))
    #: The counter officer who issued it (None: issued online).
    issued_by: Mapped[str | None] = mapped_column(String(64))
    #: What the counter decided about a referral: cleared, entry_confirmed or withdrawn.
    referral_outcome: Mapped[str | None] = mapped_column(String(32))
    referral_note: Mapped[str | None] = mapped_column(Text)
    referral_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    referral_decided_by: Mapped[str | None] = mapped_column(String(64))
    #: Verifications that found the certificate (by CNP or code), for the clerks' history.
    verifications: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_certificate_applications_daily", "citizen_id", "purpose", "application_day", unique=True),
        Index("ix_certificate_applications_citizen", "citizen_id", "requested_at"),
        Index("ix_certificate_applications_referrals", "referred_to_unit", "status", "requested_at"),
    )


#: On PostgreSQL registration numbers come from this sequence: no lock, never repeated.
REGISTRATION_SEQUENCE = Sequence("certificate_registration_seq", metadata=Base.metadata)


class RegistrationNumberAllocation(Base):
    """SQLite (laptop runs) has no sequences: each row is one number handed out there."""

    __tablename__ = "registration_numbers"

    sequence: Mapped[int] = mapped_column(_BigIntId, primary_key=True, autoincrement=True)
    allocated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VerificationAttemptRecord(Base):
    """Wrong CNPs given for a registration number, whether or not a certificate has that number."""

    __tablename__ = "verification_attempts"

    registration_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locks: Mapped[int] = mapped_column(Integer)
    #: When the row says nothing any more: rows past it are deleted.
    forget_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RegistryEntry(Base):
    """The development registry: people with an entry, by keyed hash of their CNP."""

    __tablename__ = "registry_entries"

    cnp_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
