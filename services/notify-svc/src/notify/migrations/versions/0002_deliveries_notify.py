"""New deliveries notify the delivery loops (PostgreSQL), which then wait idle without polling.

Revision ID: 0002_deliveries_notify
Revises: 0001_notifications
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op
from mai_chassis.wakeup import add_notify_on_insert, drop_notify_on_insert

revision: str = "0002_deliveries_notify"
down_revision: str | None = "0001_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel is notify.delivery.DELIVERIES_CHANNEL (spelled out: a migration never changes later).
TABLE, CHANNEL = "deliveries", "notify_deliveries"


def upgrade() -> None:
    add_notify_on_insert(op, TABLE, CHANNEL)


def downgrade() -> None:
    drop_notify_on_insert(op, TABLE, CHANNEL)
