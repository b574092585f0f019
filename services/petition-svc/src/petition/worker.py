"""petition-svc's worker: the consumer of ``account.deleted`` (petitions of a deleted account are
unlinked from it) beside the chassis' loops (the outbox relay, the idempotency purge)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mai_chassis import Database, EventConsumer

from .config import Settings

__all__ = ["worker_loops"]


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    """The account.deleted consumer; the deadline reminders run as a scheduled command (cli.py)."""
    from .handlers.accounts import ACCOUNT_DELETED, unlink_account

    return [EventConsumer.of_service(settings, database, handlers={ACCOUNT_DELETED: unlink_account})]
