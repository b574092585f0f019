"""petition-svc's own tables: petitions, their attachments, the registration counters, and the
submission quotas that keep anonymous uploads in bounds (solved challenges are kept in the
chassis' ``used_challenges``)."""

from __future__ import annotations

from datetime import date, datetime

from mai_chassis import NAMING_CONVENTION
from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy import text as sql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RegistrationCounter(Base):
    """The last registration sequence given by one institution in one year (locked while numbering)."""

    __tablename__ = "registration_counters"

    institution: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer)


class Petition(Base):
    """A petition or an opinion/suggestion, from registration to its answer or closure."""

    __tablename__ = "petitions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    #: The institution that handles it now (changes when it is forwarded).
    institution: Mapped[str] = mapped_column(String(16))
    field: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    petitioner_name: Mapped[str] = mapped_column(String(200))
    petitioner_email: Mapped[str] = mapped_column(String(254))
    petitioner_phone: Mapped[str | None] = mapped_column(String(32))
    petitioner_address: Mapped[str | None] = mapped_column(String(500))
    citizen_id: Mapped[str | None] = mapped_column(String(36))
    content_fingerprint: Mapped[str] = mapped_column(String(64))

    status: Mapped[str] = mapped_column(String(16))
    closure: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer_due_on: Mapped[date] = mapped_column(Date)
    forward_due_on: Mapped[date] = mapped_column(Date)
    deadline_extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql("false"))
    extension_reason: Mapped[str | None] = mapped_column(String(1000))
    assignee: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    forwarded_from: Mapped[str | None] = mapped_column(String(16))
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Forwarded after the 5 days the law allows (OG 27/2002 art. 6(2)); kept on the file for good.
    forwarded_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql("false"))
    #: The answer deadline the assigned clerk was last reminded of (a new deadline, a new reminder).
    reminded_for_due_on: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The petition this one was joined to (its answer covers this one too).
    joined_to_id: Mapped[str | None] = mapped_column(ForeignKey("petitions.id"))
    #: The answered petition this one repeats.
    repeat_of_id: Mapped[str | None] = mapped_column(ForeignKey("petitions.id"))

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="petition", cascade="all, delete-orphan", lazy="selectin", order_by="Attachment.position"
    )
    joined_to: Mapped[Petition | None] = relationship(remote_side="Petition.id", foreign_keys=[joined_to_id])
    repeat_of: Mapped[Petition | None] = relationship(remote_side="Petition.id", foreign_keys=[repeat_of_id])

    @property
    def answering(self) -> Petition:
        """The petition whose answer covers this one: the one it was joined to, else itself."""
        return self.joined_to if self.joined_to is not None else self

    __table_args__ = (
        Index("ix_petitions_queue", "institution", "status", "answer_due_on"),
        Index("ix_petitions_fingerprint", "content_fingerprint"),
        Index("ix_petitions_citizen_id", "citizen_id"),
        Index(
            "ix_petitions_open_due", "answer_due_on", postgresql_where=sql("status IN ('registered', 'in_progress')")
        ),
    )


class Attachment(Base):
    """A document attached to a petition; its bytes live in the attachment store under their SHA-256."""

    __tablename__ = "petition_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    petition_id: Mapped[str] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    #: The name the petitioner gave it, for display only (never used as a path).
    display_name: Mapped[str] = mapped_column(String(200))

    petition: Mapped[Petition] = relationship(back_populates="attachments")


class SubmissionQuota(Base):
    """Petitions with attachments from one scope (a client, a recipient address) in its window."""

    __tablename__ = "submission_quotas"

    #: ``client:<hash>`` or ``recipient:<hash>``: no address is kept in clear.
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    petitions: Mapped[int] = mapped_column(Integer)
    attachment_bytes: Mapped[int] = mapped_column(BigInteger)
