"""Index the petitions by the citizen account that sent them (a citizen's own list).

Revision ID: 0004_citizen_petitions_index
Revises: 0003_late_forwards_reminders
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_citizen_petitions_index"
down_revision: str | None = "0003_late_forwards_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_petitions_citizen_id", "petitions", ["citizen_id"])


def downgrade() -> None:
    op.drop_index("ix_petitions_citizen_id", table_name="petitions")
