"""Tables the chassis keeps in every service's database: outbox, processed events, idempotency keys,
used challenges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, MetaData, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .db import NAMING_CONVENTION

__all__ = ["ChassisBase", "IdempotencyRecord", "OutboxEvent", "ProcessedEvent", "UsedChallenge"]

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT (identity).
_BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class ChassisBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OutboxEvent(ChassisBase):
    """An event written in the same transaction as the state change it announces, until published."""

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(_BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )


class ProcessedEvent(ChassisBase):
    """Marks an event as applied by one consumer group, in the transaction of its side effect."""

    __tablename__ = "processed_events"

    consumer_group: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyRecord(ChassisBase):
    """The first response to a creating POST, replayed for retries that carry the same Idempotency-Key.

    ``request_hash`` is a keyed fingerprint of the request without its secret fields (see
    :mod:`mai_chassis.idempotency`); rows are purged once older than the key's lifetime.
    """

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_headers: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class UsedChallenge(ChassisBase):
    """A solved challenge, accepted once (:func:`mai_chassis.challenges.spend_once`); kept until it
    would have expired anyway."""

    __tablename__ = "used_challenges"

    challenge: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
