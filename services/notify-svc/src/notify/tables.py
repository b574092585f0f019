"""notify-svc's own tables: notifications (one per event) and their deliveries."""

from __future__ import annotations

from datetime import datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Notification(Base):
    """What an event told a citizen: recipient, template and the event's data (sealed fields still sealed)."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trigger_event_id: Mapped[str] = mapped_column(String(200), unique=True)
    trigger_event_type: Mapped[str] = mapped_column(String(200))
    trigger_subject: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    trigger_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    citizen_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: The case's registration number (a petition's, a certificate's), when the event names one.
    case_reference: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    template: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    event_data: Mapped[dict] = mapped_column(JSON)  # type: ignore[type-arg]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    deliveries: Mapped[list[DeliveryRow]] = relationship(
        back_populates="notification", order_by="DeliveryRow.number", lazy="selectin"
    )

    __table_args__ = (Index("ix_notifications_citizen_created", "citizen_id", "created_at"),)

    @property
    def latest_delivery(self) -> DeliveryRow:
        return self.deliveries[-1]


#: An administrator's search by recipient compares addresses case-insensitively.
Index("ix_notifications_recipient_lower", func.lower(Notification.recipient_email))


class RecipientMailCount(Base):
    """On-demand mails recorded for one recipient address (by hash) in its current window."""

    __tablename__ = "recipient_mail_counts"

    recipient_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mails: Mapped[int] = mapped_column(Integer)


class DeliveryRow(Base):
    """One delivery of a notification: the first, or a resend an administrator asked for."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: When it is due (created, temporary-failure) or when its sending lease ends (sending).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message_id: Mapped[str] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    smtp_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    notification: Mapped[Notification] = relationship(back_populates="deliveries", lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("notification_id", "number", name="uq_deliveries_notification_number"),
        # The delivery loop's queue: only unfinished deliveries, in due order.
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('created', 'sending', 'temporary-failure')"),
            sqlite_where=text("status IN ('created', 'sending', 'temporary-failure')"),
        ),
    )
