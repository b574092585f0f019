"""Referred applications decided and issued at a counter; the unit and person who issued a
certificate; how often a certificate was verified.

Revision ID: 0003_counter_referrals
Revises: 0002_verification_codes
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_counter_referrals"
down_revision: str | None = "0002_verification_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_applications") as batch:
        batch.add_column(sa.Column("issued_in_unit", sa.String(64), nullable=True))
        batch.add_column(sa.Column("issued_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("referral_outcome", sa.String(32), nullable=True))
        batch.add_column(sa.Column("referral_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("referral_decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("referral_decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verifications", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_certificate_applications_referrals",
        "certificate_applications",
        ["referred_to_unit", "status", "requested_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_certificate_applications_referrals", table_name="certificate_applications")
    with op.batch_alter_table("certificate_applications") as batch:
        for column in (
            "last_verified_at",
            "verifications",
            "referral_decided_by",
            "referral_decided_at",
            "referral_note",
            "referral_outcome",
            "issued_by",
            "issued_in_unit",
        ):
            batch.drop_column(column)
