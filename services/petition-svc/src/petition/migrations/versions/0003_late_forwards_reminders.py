"""A late forward flagged on the petition; the deadline its clerk was last reminded of.

Revision ID: 0003_late_forwards_reminders
Revises: 0002_submission_quotas
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_late_forwards_reminders"
down_revision: str | None = "0002_submission_quotas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("petitions") as batch:
        batch.add_column(sa.Column("forwarded_late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("reminded_for_due_on", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Petitions forwarded before the flag existed: late when the forward's day in Romania
        # came after the forwarding deadline.
        op.execute(
            "UPDATE petitions SET forwarded_late = true WHERE forwarded_at IS NOT NULL "
            "AND (forwarded_at AT TIME ZONE 'Europe/Bucharest')::date > forward_due_on"
        )


def downgrade() -> None:
    with op.batch_alter_table("petitions") as batch:
        batch.drop_column("reminded_for_due_on")
        batch.drop_column("forwarded_late")
