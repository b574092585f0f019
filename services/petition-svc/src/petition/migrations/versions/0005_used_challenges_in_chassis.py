"""Solved challenges move to the chassis' ``used_challenges`` (chassis revision c0004).

The chassis' migrations run before the service's, so the table is there; the challenges spent so
far are copied over (they are accepted once however the deployment goes), then ours is dropped.

Revision ID: 0005_used_challenges_in_chassis
Revises: 0004_citizen_petitions_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from mai_chassis.migrations import move_spent_challenges_to_chassis, restore_spent_challenges

revision: str = "0005_used_challenges_in_chassis"
down_revision: str | None = "0004_citizen_petitions_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    move_spent_challenges_to_chassis()


def downgrade() -> None:
    restore_spent_challenges()
