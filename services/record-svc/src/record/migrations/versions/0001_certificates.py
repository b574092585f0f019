"""Verified citizens, certificate applications, registration numbers and the local registry.

Revision ID: 0001_certificates
Revises:
Create Date: 2025-03-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_certificates"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "verified_citizens",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("assurance_level", sa.String(20), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("unit", sa.String(64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.PrimaryKeyConstraint("citizen_id", name="pk_verified_citizens"),
    )
    op.create_table(
        "certificate_applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("purpose_text", sa.String(500), nullable=True),
        sa.Column("application_day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder_cnp_digest", sa.String(64), nullable=False),
        sa.Column("holder_name", sa.String(200), nullable=False),
        sa.Column("recipient_email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf_sha256", sa.String(64), nullable=True),
        sa.Column("referral_reason", sa.String(32), nullable=True),
        sa.Column("referred_to_unit", sa.String(64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(32), nullable=True),
        sa.Column("revocation_note", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoked_in_unit", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificate_applications"),
        sa.UniqueConstraint("registration_number", name="uq_certificate_applications_registration_number"),
    )
    op.create_index(
        "uq_certificate_applications_daily",
        "certificate_applications",
        ["citizen_id", "purpose", "application_day"],
        unique=True,
    )
    op.create_index(
        "ix_certificate_applications_citizen", "certificate_applications", ["citizen_id", "requested_at"]
    )
    op.create_table(
        "registration_numbers",
        sa.Column("sequence", _big_id, autoincrement=True, nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_registration_numbers"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("certificate_registration_seq")))
    op.create_table(
        "registry_entries",
        sa.Column("cnp_digest", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("cnp_digest", name="pk_registry_entries"),
    )


def downgrade() -> None:
    op.drop_table("registry_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("certificate_registration_seq")))
    op.drop_table("registration_numbers")
    op.drop_index("ix_certificate_applications_citizen", table_name="certificate_applications")
    op.drop_index("uq_certificate_applications_daily", table_name="certificate_applications")
    op.drop_table("certificate_applications")
    op.drop_table("verified_citizens")
