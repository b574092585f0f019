"""booking-svc's own tables: applications, documents, timeline, slots, appointments, contacts, rate limits."""

from __future__ import annotations

from datetime import date, datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_BigIntId = BigInteger().with_variant(Integer(), "sqlite")
_Moment = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(64), index=True)
    application_type: Mapped[str] = mapped_column(String(64))
    office: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    submission_number: Mapped[int] = mapped_column(Integer, default=0)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(_Moment)
    submitted_at: Mapped[datetime | None] = mapped_column(_Moment, nullable=True)
    biometrics_taken_at: Mapped[datetime | None] = mapped_column(_Moment, nullable=True)
    pickup_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    picked_up_at: Mapped[datetime | None] = mapped_column(_Moment, nullable=True)

    __table_args__ = (
        # The officers' queue: submitted applications of one office, oldest first.
        Index("ix_applications_office_status_submitted", "office", "status", "submitted_at"),
    )


class ApplicationDocument(Base):
    """The current document of one required type (a replacement overwrites the rejected one)."""

    __tablename__ = "application_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(_Moment)
    reviewed_at: Mapped[datetime | None] = mapped_column(_Moment, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("application_id", "document_type"),)


class TimelineEntry(Base):
    __tablename__ = "application_timeline"

    id: Mapped[int] = mapped_column(_BigIntId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(_Moment)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Slot(Base):
    """A counter's time slot; ``is_booked`` flips only by a conditional UPDATE (see handlers.appointments)."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(_BigIntId, primary_key=True, autoincrement=True)
    office: Mapped[str] = mapped_column(String(16))
    counter: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(_Moment)
    ends_at: Mapped[datetime] = mapped_column(_Moment)
    is_booked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("office", "counter", "starts_at"),
        Index(
            "ix_slots_free_by_office",
            "office",
            "starts_at",
            postgresql_where=text("NOT is_booked"),
            sqlite_where=text("NOT is_booked"),
        ),
    )


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[str] = mapped_column(String(64))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
    office: Mapped[str] = mapped_column(String(16))
    counter: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(_Moment)
    ends_at: Mapped[datetime] = mapped_column(_Moment)
    status: Mapped[str] = mapped_column(String(16))
    booked_at: Mapped[datetime] = mapped_column(_Moment)
    rescheduled_from: Mapped[str | None] = mapped_column(String(36), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(_Moment, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (
        # The database itself refuses a second active appointment on a slot or for an application.
        Index(
            "uq_appointments_active_slot",
            "slot_id",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
        Index(
            "uq_appointments_active_application",
            "application_id",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )


class ApplicantContact(Base):
    """Where an applicant's e-mails go, learnt from identity.verified."""

    __tablename__ = "applicant_contacts"

    citizen_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    verified_at: Mapped[datetime] = mapped_column(_Moment)


class RateLimitWindow(Base):
    """Requests of one citizen for one action in one fixed window."""

    __tablename__ = "rate_limit_windows"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(_Moment, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
