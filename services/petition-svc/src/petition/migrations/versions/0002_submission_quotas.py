"""Submission quotas per client and recipient address, and spent challenges.

Revision ID: 0002_submission_quotas
Revises: 0001_petitions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_submission_quotas"
down_revision: str | None = "0001_petitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_quotas",
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("petitions", sa.Integer(), nullable=False),
        sa.Column("attachment_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_submission_quotas"),
    )
    op.create_index("ix_submission_quotas_window_started_at", "submission_quotas", ["window_started_at"])
    op.create_table(
        "spent_challenges",
        sa.Column("challenge", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("challenge", name="pk_spent_challenges"),
    )
    op.create_index("ix_spent_challenges_expires_at", "spent_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_spent_challenges_expires_at", table_name="spent_challenges")
    op.drop_table("spent_challenges")
    op.drop_index("ix_submission_quotas_window_started_at", table_name="submission_quotas")
    op.drop_table("submission_quotas")
