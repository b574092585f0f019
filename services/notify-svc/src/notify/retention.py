"""notify-svc's retention rules (contracts retention.yaml): the queries of `notify-svc purge`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .config import Settings
from .domain import FINAL_STATUSES
from .tables import DeliveryRow, Notification, RecipientMailCount

__all__ = ["purge", "rules"]

SERVICE = "notify-svc"


def finished_notifications(cutoff: datetime) -> KeySelect:
    """Notifications recorded before ``cutoff`` whose deliveries have all finished."""
    unfinished = (
        select(DeliveryRow.notification_id)
        .where(DeliveryRow.status.not_in([s.value for s in FINAL_STATUSES]))
        .scalar_subquery()
    )
    return select(Notification.id).where(Notification.created_at < cutoff, Notification.id.not_in(unfinished))


def delete_notifications(session: Session, ids: Sequence[Any]) -> None:
    session.execute(delete(DeliveryRow).where(DeliveryRow.notification_id.in_(ids)))
    session.execute(delete(Notification).where(Notification.id.in_(ids)))


def stale_mail_counts(cutoff: datetime) -> KeySelect:
    return select(RecipientMailCount.recipient_key).where(RecipientMailCount.window_started_at < cutoff)


def delete_mail_counts(session: Session, keys: Sequence[Any]) -> None:
    session.execute(delete(RecipientMailCount).where(RecipientMailCount.recipient_key.in_(keys)))


def rules(settings: Settings | None = None) -> list[RetentionRule]:
    return [
        RetentionRule("delivered-notifications", finished_notifications, delete_notifications),
        RetentionRule("recipient-mail-counts", stale_mail_counts, delete_mail_counts),
    ]


purge = purge_command(SERVICE, Settings, rules)
