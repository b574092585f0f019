"""Quotas on what anyone can make petition-svc store: petitions with attachments per client and per
recipient address in a window, and a budget for the attachment store as a whole.

A petition needs no account, so without these one client could fill the attachment store at the
gateway's rate and have official receipts (bearing a name of its choice) mailed to any address.
Petitions without attachments are bounded by the gateway's rate limit and, for the receipts, by
notify-svc's per-recipient mail limit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .tables import Attachment, SubmissionQuota

__all__ = [
    "AttachmentQuotas",
    "QuotaExceeded",
    "StorageUse",
    "Usage",
    "count_submission",
    "recipient_key",
]


@dataclass(frozen=True)
class AttachmentQuotas:
    """Limits on petitions with attachments within ``window`` (counted from the first)."""

    window: timedelta = timedelta(hours=24)
    petitions_per_client: int = 10
    bytes_per_client: int = 100 * 1024 * 1024
    petitions_per_recipient: int = 5
    bytes_per_recipient: int = 50 * 1024 * 1024
    #: The attachment store as a whole; new attachments are refused once it would be exceeded.
    storage_budget_bytes: int = 200 * 1024**3


@dataclass(frozen=True)
class Usage:
    """What one scope (a client, a recipient address) submitted in its current window."""

    petitions: int
    attachment_bytes: int
    window_started_at: datetime


class QuotaExceeded(Exception):
    """A quota would be exceeded; ``retry_after`` seconds until the scope's window ends."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.retry_after = retry_after


def recipient_key(email: str) -> str:
    """The petitioner's address as mail servers compare it, hashed (the table keeps no address)."""
    return "recipient:" + _digest(email.strip().lower())


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:64]


def count_submission(session: Session, scope: str, attachment_bytes: int, now: datetime, window: timedelta) -> Usage:
    """Count one petition with ``attachment_bytes`` of attachments against ``scope``; returns the
    scope's use including it. One atomic upsert (which also locks the row until commit), so
    concurrent submissions from one client are all counted; a refused submission's transaction
    rolls back and with it the count."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    expired = SubmissionQuota.window_started_at <= now - window
    statement = insert(SubmissionQuota).values(
        scope=scope, window_started_at=now, petitions=1, attachment_bytes=attachment_bytes
    )
    counted = statement.on_conflict_do_update(
        index_elements=["scope"],
        set_={
            "petitions": case((expired, 1), else_=SubmissionQuota.petitions + 1),
            "attachment_bytes": case(
                (expired, attachment_bytes), else_=SubmissionQuota.attachment_bytes + attachment_bytes
            ),
            "window_started_at": case((expired, now), else_=SubmissionQuota.window_started_at),
        },
    ).returning(SubmissionQuota.petitions, SubmissionQuota.attachment_bytes, SubmissionQuota.window_started_at)
    petitions, used, started = session.execute(counted).one()
    return Usage(int(petitions), int(used), started)


def seconds_until(end: datetime, now: datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


class StorageUse:
    """Bytes of attachments the store holds, read from the database and cached for a few seconds
    (the storage gauge and the budget check share it)."""

    def __init__(self, *, ttl: float = 15.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, int] | None = None

    def bytes_stored(self, session: Session) -> int:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
        # Distinct files: the store keeps a file sent twice once.
        per_file = select(Attachment.sha256, func.max(Attachment.size).label("size")).group_by(Attachment.sha256)
        total = int(session.scalar(select(func.coalesce(func.sum(per_file.subquery().c.size), 0))) or 0)
        with self._lock:
            self._cached = (time.monotonic(), total)
        return total

    def add(self, size: int) -> None:
        """Account at once for attachments just stored (the next read corrects any drift)."""
        with self._lock:
            if self._cached is not None:
                self._cached = (self._cached[0], self._cached[1] + size)
