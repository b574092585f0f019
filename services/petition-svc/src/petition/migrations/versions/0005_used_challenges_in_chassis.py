"""Solved challenges move to the chassis' ``used_challenges`` (chassis revision c0004).

The chassis' migrations run before the service's, so the table is there; the challenges spent so
far are copied over (they are accepted once however the deployment goes), then ours is dropped.

Revision ID: 0005_used_challenges_in_chassis
Revises: 0004_citizen_petitions_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_used_challenges_in_chassis"
down_revision: str | None = "0004_citizen_petitions_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO used_challenges (challenge, expires_at) SELECT challenge, expires_at FROM spent_challenges"
        )
    )
    op.drop_index("ix_spent_challenges_expires_at", table_name="spent_challenges")
    op.drop_table("spent_challenges")


def downgrade() -> None:
    op.create_table(
        "spent_challenges",
        sa.Column("challenge", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("challenge", name="pk_spent_challenges"),
    )
    op.create_index("ix_spent_challenges_expires_at", "spent_challenges", ["expires_at"])
    op.execute(
        sa.text(
            "INSERT INTO spent_challenges (challenge, expires_at) SELECT challenge, expires_at FROM used_challenges"
        )
    )
