"""Idempotency records are purged after their lifetime: an index on their age, and the old rows gone.

Rows written before this revision hold an unkeyed SHA-256 of the whole request body (passwords and
CNPs included); those past the 24-hour lifetime are deleted here, the younger ones by the first
purge after it.

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0003"
down_revision: str | None = "c0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    # The lifetime is mai_chassis.idempotency.KEY_TTL (spelled out: a migration never changes later).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"))
    else:
        op.execute(sa.text("DELETE FROM idempotency_keys WHERE created_at < datetime('now', '-24 hours')"))


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
