"""Verification codes on certificates and the per-number budget of wrong CNPs.

Revision ID: 0002_verification_codes
Revises: 0001_certificates
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_verification_codes"
down_revision: str | None = "0001_certificates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_applications") as batch:
        batch.add_column(sa.Column("verification_code_digest", sa.String(64), nullable=True))
    op.create_table(
        "verification_attempts",
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("forget_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("registration_number", name="pk_verification_attempts"),
    )
    op.create_index("ix_verification_attempts_forget_after", "verification_attempts", ["forget_after"])


def downgrade() -> None:
    op.drop_index("ix_verification_attempts_forget_after", table_name="verification_attempts")
    op.drop_table("verification_attempts")
    with op.batch_alter_table("certificate_applications") as batch:
        batch.drop_column("verification_code_digest")
