"""identity-svc's retention rules (contracts retention.yaml): the queries of `identity-svc purge`.

An account unused for the inactivity term is deleted as a citizen deletes theirs: the same
``account.deleted`` event (reason ``inactivity``) goes through the outbox in the batch's
transaction, so every other service follows and the citizen is mailed what was kept and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mai_chassis.events import outgoing_event
from mai_chassis.outbox import add_to_outbox
from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from .config import Settings
from .domain import AccountKind
from .events import AccountDeleted
from .handlers.lookups import recipient
from .tables import Account, RefreshToken

__all__ = ["purge", "rules"]

SERVICE = "identity-svc"


def unconfirmed_accounts(cutoff: datetime) -> KeySelect:
    """Citizen accounts created before ``cutoff`` whose address was never confirmed nor identity verified."""
    return select(Account.id).where(
        Account.kind == "citizen",
        Account.email_confirmed_at.is_(None),
        Account.verified_at.is_(None),
        Account.created_at < cutoff,
    )


def delete_accounts(session: Session, ids: Sequence[Any]) -> None:
    # Their challenges, tokens and attempts go with them (ON DELETE CASCADE).
    session.execute(delete(Account).where(Account.id.in_(ids)))


def inactive_accounts(cutoff: datetime) -> KeySelect:
    """Citizen accounts created before ``cutoff`` and not signed in to (no session begun or renewed) since."""
    signed_in_since = exists().where(RefreshToken.account_id == Account.id, RefreshToken.issued_at >= cutoff)
    return select(Account.id).where(
        Account.kind == AccountKind.CITIZEN.value, Account.created_at < cutoff, ~signed_in_since
    )


def delete_inactive_accounts(session: Session, ids: Sequence[Any]) -> None:
    """Each account's ``account.deleted`` (reason inactivity) into the outbox, then the accounts go."""
    now = datetime.now(UTC)
    for account in session.scalars(select(Account).where(Account.id.in_(ids))):
        event = outgoing_event(
            AccountDeleted(account_id=account.id, reason="inactivity", deleted_at=now, recipient=recipient(account))
        )
        add_to_outbox(
            session, event_type=event.type, source=SERVICE, subject=event.subject, data=event.data, key=event.key
        )
    delete_accounts(session, ids)


def rules(settings: Settings | None = None) -> list[RetentionRule]:
    return [
        RetentionRule("unconfirmed-accounts", unconfirmed_accounts, delete_accounts),
        RetentionRule("inactive-accounts", inactive_accounts, delete_inactive_accounts),
    ]


purge = purge_command(SERVICE, Settings, rules)
