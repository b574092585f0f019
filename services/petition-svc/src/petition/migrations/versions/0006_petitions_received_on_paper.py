"""Petitions received by post, e-mail or at a counter: the day received, the registering clerk,
and no e-mail address for a petitioner answered by post.

Revision ID: 0006_petitions_received_on_paper
Revises: 0005_used_challenges_in_chassis
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_petitions_received_on_paper"
down_revision: str | None = "0005_used_challenges_in_chassis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("petitions") as batch:
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("registered_by", sa.String(200), nullable=True))
        batch.alter_column("petitioner_email", existing_type=sa.String(254), nullable=True)


def downgrade() -> None:
    # Petitions without an address cannot go back to a schema that requires one; nothing is deleted.
    if op.get_bind().scalar(sa.text("SELECT count(*) FROM petitions WHERE petitioner_email IS NULL")):
        raise RuntimeError("petitions without an e-mail address exist: this revision cannot be undone")
    with op.batch_alter_table("petitions") as batch:
        batch.alter_column("petitioner_email", existing_type=sa.String(254), nullable=False)
        batch.drop_column("registered_by")
        batch.drop_column("received_on")
