"""Per-recipient counts of the mails anyone can trigger (registration, password reset, petition receipt).

Revision ID: 0003_recipient_mail_counts
Revises: 0002_deliveries_notify
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_recipient_mail_counts"
down_revision: str | None = "0002_deliveries_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recipient_mail_counts",
        sa.Column("recipient_key", sa.String(64), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mails", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("recipient_key", name="pk_recipient_mail_counts"),
    )


def downgrade() -> None:
    op.drop_table("recipient_mail_counts")
