"""Petitions, their attachments and the registration counters.

Revision ID: 0001_petitions
Revises:
Create Date: 2026-01-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_petitions"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_counters",
        sa.Column("institution", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("institution", "year", name=op.f("pk_registration_counters")),
    )
    op.create_table(
        "petitions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("registration_number", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("institution", sa.String(16), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("petitioner_name", sa.String(200), nullable=False),
        sa.Column("petitioner_email", sa.String(254), nullable=False),
        sa.Column("petitioner_phone", sa.String(32), nullable=True),
        sa.Column("petitioner_address", sa.String(500), nullable=True),
        sa.Column("citizen_id", sa.String(36), nullable=True),
        sa.Column("content_fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closure", sa.String(16), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due_on", sa.Date(), nullable=False),
        sa.Column("forward_due_on", sa.Date(), nullable=False),
        sa.Column("deadline_extended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("extension_reason", sa.String(1000), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forwarded_from", sa.String(16), nullable=True),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_to_id", sa.String(36), nullable=True),
        sa.Column("repeat_of_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(["joined_to_id"], ["petitions.id"], name=op.f("fk_petitions_joined_to_id_petitions")),
        sa.ForeignKeyConstraint(["repeat_of_id"], ["petitions.id"], name=op.f("fk_petitions_repeat_of_id_petitions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petitions")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_petitions_registration_number")),
    )
    op.create_index("ix_petitions_queue", "petitions", ["institution", "status", "answer_due_on"])
    op.create_index("ix_petitions_fingerprint", "petitions", ["content_fingerprint"])
    op.create_index(
        "ix_petitions_open_due",
        "petitions",
        ["answer_due_on"],
        postgresql_where=sa.text("status IN ('registered', 'in_progress')"),
    )
    op.create_table(
        "petition_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("petition_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["petition_id"],
            ["petitions.id"],
            name=op.f("fk_petition_attachments_petition_id_petitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petition_attachments")),
    )
    op.create_index(
        op.f("ix_petition_attachments_petition_id"), "petition_attachments", ["petition_id"]
    )


def downgrade() -> None:
    op.drop_table("petition_attachments")
    op.drop_index("ix_petitions_open_due", table_name="petitions")
    op.drop_index("ix_petitions_fingerprint", table_name="petitions")
    op.drop_index("ix_petitions_queue", table_name="petitions")
    op.drop_table("petitions")
    op.drop_table("registration_counters")
