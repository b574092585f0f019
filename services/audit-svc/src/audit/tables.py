"""audit-svc's one table: the append-only, hash-chained trail of staff actions."""

from __future__ import annotations

from datetime import datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import BigInteger, DateTime, Index, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AuditRecord", "Base"]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AuditRecord(Base):
    """One staff action as received, at position ``seq`` of the chain (never updated, never deleted)."""

    __tablename__ = "audit_trail"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: The service that published it (the event's source, checked against its topic's owner).
    service: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(100))
    subject_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    #: When the audit store appended it.
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_trail_actor_occurred", "actor_id", "occurred_at"),
        Index("ix_audit_trail_unit_occurred", "unit", "occurred_at"),
        Index("ix_audit_trail_subject", "subject_type", "subject_id"),
        Index("ix_audit_trail_subject_number", "subject_number"),
        Index("ix_audit_trail_occurred", "occurred_at"),
    )
