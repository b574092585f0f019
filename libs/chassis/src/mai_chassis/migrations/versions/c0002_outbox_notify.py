"""Inserts into the outbox notify the relay (PostgreSQL), which then waits idle without polling.

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from mai_chassis.wakeup import add_notify_on_insert, drop_notify_on_insert

revision: str = "c0002"
down_revision: str | None = "c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel is mai_chassis.outbox.OUTBOX_CHANNEL (spelled out: a migration never changes later).
TABLE, CHANNEL = "outbox_events", "mai_outbox"


def upgrade() -> None:
    add_notify_on_insert(op, TABLE, CHANNEL)


def downgrade() -> None:
    drop_notify_on_insert(op, TABLE, CHANNEL)
