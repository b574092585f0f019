"""Applications, documents, timeline, slots, appointments, applicant contacts, rate limits.

Revision ID: 0001
Revises:
Create Date: 2025-03-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(64), nullable=False),
        sa.Column("application_type", sa.String(64), nullable=False),
        sa.Column("office", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("submission_number", sa.Integer(), nullable=False),
        sa.Column("recipient_email", sa.String(254), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("recipient_language", sa.String(2), nullable=False),
        sa.Column("created_at", _moment, nullable=False),
        sa.Column("submitted_at", _moment, nullable=True),
        sa.Column("biometrics_taken_at", _moment, nullable=True),
        sa.Column("pickup_from", sa.Date(), nullable=True),
        sa.Column("picked_up_at", _moment, nullable=True),
    )
    op.create_index("ix_applications_citizen_id", "applications", ["citizen_id"])
    op.create_index(
        "ix_applications_office_status_submitted", "applications", ["office", "status", "submitted_at"]
    )
    op.create_table(
        "application_documents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "application_id",
            sa.String(36),
            sa.ForeignKey("applications.id", ondelete="CASCADE", name="fk_application_documents_application_id_applications"),
            nullable=False,
        ),
        sa.Column("document_type", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("uploaded_at", _moment, nullable=False),
        sa.Column("reviewed_at", _moment, nullable=True),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("application_id", "document_type", name="uq_application_documents_application_id"),
    )
    op.create_table(
        "application_timeline",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id",
            sa.String(36),
            sa.ForeignKey("applications.id", ondelete="CASCADE", name="fk_application_timeline_application_id_applications"),
            nullable=False,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("occurred_at", _moment, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_application_timeline_application_id", "application_timeline", ["application_id"])
    op.create_table(
        "slots",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("office", sa.String(16), nullable=False),
        sa.Column("counter", sa.String(16), nullable=False),
        sa.Column("starts_at", _moment, nullable=False),
        sa.Column("ends_at", _moment, nullable=False),
        sa.Column("is_booked", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.UniqueConstraint("office", "counter", "starts_at", name="uq_slots_office"),
    )
    op.create_index(
        "ix_slots_free_by_office",
        "slots",
        ["office", "starts_at"],
        postgresql_where=sa.text("NOT is_booked"),
        sqlite_where=sa.text("NOT is_booked"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "application_id",
            sa.String(36),
            sa.ForeignKey("applications.id", ondelete="CASCADE", name="fk_appointments_application_id_applications"),
            nullable=False,
        ),
        sa.Column("citizen_id", sa.String(64), nullable=False),
        sa.Column("slot_id", _id, sa.ForeignKey("slots.id", name="fk_appointments_slot_id_slots"), nullable=False),
        sa.Column("office", sa.String(16), nullable=False),
        sa.Column("counter", sa.String(16), nullable=False),
        sa.Column("starts_at", _moment, nullable=False),
        sa.Column("ends_at", _moment, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("booked_at", _moment, nullable=False),
        sa.Column("rescheduled_from", sa.String(36), nullable=True),
        sa.Column("cancelled_at", _moment, nullable=True),
        sa.Column("cancelled_by", sa.String(16), nullable=True),
        sa.Column("cancel_reason", sa.String(32), nullable=True),
    )
    op.create_index("ix_appointments_application_id", "appointments", ["application_id"])
    for name, column in (("uq_appointments_active_slot", "slot_id"), ("uq_appointments_active_application", "application_id")):
        op.create_index(
            name,
            "appointments",
            [column],
            unique=True,
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )
    op.create_table(
        "applicant_contacts",
        sa.Column("citizen_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("verified_at", _moment, nullable=False),
    )
    op.create_table(
        "rate_limit_windows",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(32), primary_key=True),
        sa.Column("window_start", _moment, primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "rate_limit_windows",
        "applicant_contacts",
        "appointments",
        "slots",
        "application_timeline",
        "application_documents",
        "applications",
    ):
        op.drop_table(table)
