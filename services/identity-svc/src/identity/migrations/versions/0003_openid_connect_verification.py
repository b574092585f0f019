"""Identity verification over OpenID Connect: PKCE verifier and redirect URI per attempt, one
account per provider subject; the sandbox's signing keys and the signed-answer replay table go.

Revision ID: 0003_openid_connect_verification
Revises: 0002_one_sandbox_key
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_openid_connect_verification"
down_revision: str | None = "0002_one_sandbox_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SANDBOX = sa.text("purpose LIKE 'eid-sandbox:%'")
_WITH_SUBJECT = sa.text("subject_digest IS NOT NULL")


def upgrade() -> None:
    # Attempts started under the signed-answer protocol cannot finish under the new one.
    op.execute("UPDATE verification_attempts SET finished_at = CURRENT_TIMESTAMP, outcome = 'superseded' "
               "WHERE finished_at IS NULL")
    with op.batch_alter_table("verification_attempts") as batch:
        batch.add_column(sa.Column("code_verifier_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redirect_uri", sa.String(length=500), nullable=True))
    with op.batch_alter_table("identity_verifications") as batch:
        batch.add_column(sa.Column("subject_digest", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_identity_verifications_provider_subject",
        "identity_verifications",
        ["provider", "subject_digest"],
        unique=True,
        postgresql_where=_WITH_SUBJECT,
        sqlite_where=_WITH_SUBJECT,
    )
    op.drop_table("provider_answers_seen")
    op.drop_index("uq_signing_keys_sandbox_purpose", table_name="signing_keys")
    op.execute("DELETE FROM signing_keys WHERE purpose LIKE 'eid-sandbox:%'")


def downgrade() -> None:
    op.create_index(
        "uq_signing_keys_sandbox_purpose",
        "signing_keys",
        ["purpose"],
        unique=True,
        postgresql_where=_SANDBOX,
        sqlite_where=_SANDBOX,
    )
    op.create_table(
        "provider_answers_seen",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "jti", name=op.f("pk_provider_answers_seen")),
    )
    op.drop_index("uq_identity_verifications_provider_subject", table_name="identity_verifications")
    with op.batch_alter_table("identity_verifications") as batch:
        batch.drop_column("subject_digest")
    with op.batch_alter_table("verification_attempts") as batch:
        batch.drop_column("redirect_uri")
        batch.drop_column("code_verifier_sealed")
