"""One signing key per sandbox provider, even when several workers create it at once.

Revision ID: 0002_one_sandbox_key
Revises: 0001_identity_tables
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_one_sandbox_key"
down_revision: str | None = "0001_identity_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SANDBOX = sa.text("purpose LIKE 'eid-sandbox:%'")


def upgrade() -> None:
    op.create_index(
        "uq_signing_keys_sandbox_purpose",
        "signing_keys",
        ["purpose"],
        unique=True,
        postgresql_where=_SANDBOX,
        sqlite_where=_SANDBOX,
    )


def downgrade() -> None:
    op.drop_index("uq_signing_keys_sandbox_purpose", table_name="signing_keys")
