"""Staff second factor: TOTP secrets (encrypted) and single-use recovery codes (hashed).

Revision ID: 0006_staff_second_factor
Revises: 0005_used_challenges_in_chassis
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_staff_second_factor"
down_revision: str | None = "0005_used_challenges_in_chassis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_second_factors",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_staff_second_factors_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_staff_second_factors"),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_staff_recovery_codes_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_recovery_codes"),
    )
    op.create_index("ix_staff_recovery_codes_account_id", "staff_recovery_codes", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_recovery_codes_account_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_second_factors")
