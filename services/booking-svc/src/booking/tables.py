"""booking-svc's own tables: applications, documents, timeline, office schedules, slots, appointments,
contacts, rate limits."""

from __future__ import annotations

from datetime import date, datetime, time

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
    SmallInteger,
    String,
    Text,
    Time,
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
    slot_type: Mapped[str] = mapped_column(String(16), default="visit", server_default=text("'visit'"))

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
    #: None once the slot itself is gone (a closed day's slots are deleted; the appointment keeps its times).
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"), nullable=True)
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


class OfficeSchedule(Base):
    """An office whose schedule exists (seeded from offices.yaml), and who last changed it."""

    __tablename__ = "office_schedules"

    office: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(_Moment)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OpeningHours(Base):
    """One opening interval of an office on a weekday (0 Monday ... 6 Sunday), office wall-clock time."""

    __tablename__ = "office_opening_hours"

    office: Mapped[str] = mapped_column(ForeignKey("office_schedules.office", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    opens: Mapped[time] = mapped_column(Time, primary_key=True)
    closes: Mapped[time] = mapped_column(Time)


class SlotCapacity(Base):
    """How many of an office's counters serve a slot type."""

    __tablename__ = "office_slot_capacities"

    office: Mapped[str] = mapped_column(ForeignKey("office_schedules.office", ondelete="CASCADE"), primary_key=True)
    slot_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    counters: Mapped[int] = mapped_column(Integer)


class OfficeClosure(Base):
    """Days an office is closed (both ends included), declared by its manager."""

    __tablename__ = "office_closures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    office: Mapped[str] = mapped_column(ForeignKey("office_schedules.office", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_Moment)
    created_by: Mapped[str] = mapped_column(String(64))
    moved: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_office_closures_office_last_day", "office", "last_day"),)


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
