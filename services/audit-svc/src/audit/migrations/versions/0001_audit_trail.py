"""The audit trail: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) and hash-chained.

Revision ID: 0001_audit_trail
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_audit_trail"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows are only ever appended. The trigger stops any role but one that may disable triggers (the
# table's owner or a superuser, which the service's runtime role must not be); what such a role
# changes anyway is found by `audit-svc verify-audit`, since every row's hash covers the one before.
_REFUSE_CHANGE = """
CREATE FUNCTION audit_trail_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_trail",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(64), nullable=True),
        sa.Column("unit", sa.String(64), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("subject_number", sa.String(64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_trail")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_trail_event_id")),
    )
    op.create_index("ix_audit_trail_actor_occurred", "audit_trail", ["actor_id", "occurred_at"])
    op.create_index("ix_audit_trail_unit_occurred", "audit_trail", ["unit", "occurred_at"])
    op.create_index("ix_audit_trail_subject", "audit_trail", ["subject_type", "subject_id"])
    op.create_index("ix_audit_trail_occurred", "audit_trail", ["occurred_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE_CHANGE)
        op.execute(
            "CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail "
            "FOR EACH ROW EXECUTE FUNCTION audit_trail_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_trail_no_truncate ON audit_trail")
        op.execute("DROP TRIGGER IF EXISTS audit_trail_append_only ON audit_trail")
        op.execute("DROP FUNCTION IF EXISTS audit_trail_refuse_change()")
    op.drop_table("audit_trail")
