"""The trail read by a case's registration number (an administrator's "reference" filter).

Revision ID: 0002_subject_number_index
Revises: 0001_audit_trail
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_subject_number_index"
down_revision: str | None = "0001_audit_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_trail_subject_number", "audit_trail", ["subject_number"])


def downgrade() -> None:
    op.drop_index("ix_audit_trail_subject_number", table_name="audit_trail")
