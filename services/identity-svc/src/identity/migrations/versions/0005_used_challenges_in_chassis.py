"""identity-svc's spent form challenges (registration, confirmation resend, password reset) join
the chassis' ``used_challenges`` (chassis revision c0004, migrated before this one): each is copied
over, so it stays refused whichever process checks it next, and ``spent_challenges`` is dropped.

Revision ID: 0005_used_challenges_in_chassis
Revises: 0004_form_challenges
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from mai_chassis.migrations import move_spent_challenges_to_chassis, restore_spent_challenges

revision: str = "0005_used_challenges_in_chassis"
down_revision: str | None = "0004_form_challenges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    move_spent_challenges_to_chassis()


def downgrade() -> None:
    restore_spent_challenges()
