"""Administrators find notifications by recipient address or by the case they were about.

Adds the case's registration number (petition, certificate) beside the event's subject id, and the
indexes of both searches: the address compared case-insensitively, the number, the subject id.

Revision ID: 0004_notification_search
Revises: 0003_recipient_mail_counts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_notification_search"
down_revision: str | None = "0003_recipient_mail_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("case_reference", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE notifications SET case_reference = left(event_data->>'registration_number', 64) "
            "WHERE event_data->>'registration_number' IS NOT NULL"
        )
    op.create_index("ix_notifications_case_reference", "notifications", ["case_reference"])
    op.create_index("ix_notifications_trigger_subject", "notifications", ["trigger_subject"])
    op.create_index("ix_notifications_recipient_lower", "notifications", [sa.text("lower(recipient_email)")])


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient_lower", table_name="notifications")
    op.drop_index("ix_notifications_trigger_subject", table_name="notifications")
    op.drop_index("ix_notifications_case_reference", table_name="notifications")
    op.drop_column("notifications", "case_reference")
