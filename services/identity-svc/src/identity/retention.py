"""identity-svc's retention rules (contracts retention.yaml): the queries of `identity-svc purge`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .config import Settings
from .tables import Account

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


def rules(settings: Settings | None = None) -> list[RetentionRule]:
    return [RetentionRule("unconfirmed-accounts", unconfirmed_accounts, delete_accounts)]


purge = purge_command(SERVICE, Settings, rules)
