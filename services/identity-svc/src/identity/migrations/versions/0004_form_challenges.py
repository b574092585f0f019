"""Per-client counts of the anonymous mail-sending forms, and spent form challenges.

Revision ID: 0004_form_challenges
Revises: 0003_openid_connect_verification
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_form_challenges"
down_revision: str | None = "0003_openid_connect_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_requests",
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_form_requests"),
    )
    op.create_index("ix_form_requests_window_started_at", "form_requests", ["window_started_at"])
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
    op.drop_index("ix_form_requests_window_started_at", table_name="form_requests")
    op.drop_table("form_requests")
