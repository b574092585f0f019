"""Staff security keys and passkeys (WebAuthn credentials), a second factor beside TOTP.

Revision ID: 0007_staff_security_keys
Revises: 0006_staff_second_factor
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_staff_security_keys"
down_revision: str | None = "0006_staff_second_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_security_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(2048), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(200), nullable=True),
        sa.Column("aaguid", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_staff_security_keys_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_security_keys"),
        sa.UniqueConstraint("account_id", "name", name="uq_staff_security_keys_account_id"),
        sa.UniqueConstraint("credential_id", name="uq_staff_security_keys_credential_id"),
    )
    op.create_index("ix_staff_security_keys_account_id", "staff_security_keys", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_security_keys_account_id", table_name="staff_security_keys")
    op.drop_table("staff_security_keys")
