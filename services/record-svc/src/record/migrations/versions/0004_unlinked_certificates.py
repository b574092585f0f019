"""A certificate of a deleted account stays, unlinked: no citizen id, no recipient address.

Revision ID: 0004_unlinked_certificates
Revises: 0003_counter_referrals
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_unlinked_certificates"
down_revision: str | None = "0003_counter_referrals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_applications") as batch:
        batch.alter_column("citizen_id", existing_type=sa.Uuid(), nullable=True)
        batch.alter_column("recipient_email", existing_type=sa.String(254), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM certificate_applications WHERE citizen_id IS NULL OR recipient_email IS NULL")
    with op.batch_alter_table("certificate_applications") as batch:
        batch.alter_column("recipient_email", existing_type=sa.String(254), nullable=False)
        batch.alter_column("citizen_id", existing_type=sa.Uuid(), nullable=False)
