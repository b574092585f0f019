"""What notify-svc announces: the outcome of each delivery, checked against ``contracts/``.

The notification's id is the subject and Kafka key, so one notification's outcomes keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from mai_chassis import DomainEvent

__all__ = ["NotificationFailed", "NotificationSent"]


@dataclass(frozen=True, kw_only=True)
class _DeliveryOutcome(DomainEvent):
    subject_field: ClassVar[str] = "notification_id"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"citizen_id"})

    notification_id: str
    trigger_event_id: str
    trigger_event_type: str
    template: str
    template_version: int
    language: str
    channel: str = "email"
    #: Which delivery of the notification (1, then one more per resend).
    delivery: int
    attempts: int
    citizen_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class NotificationSent(_DeliveryOutcome):
    """The mail server accepted a delivery."""

    type: ClassVar[str] = "ro.mai.notification.sent.v1"

    sent_at: datetime


@dataclass(frozen=True, kw_only=True)
class NotificationFailed(_DeliveryOutcome):
    """A delivery failed for good: refused by the mail server, or its retries ran out."""

    type: ClassVar[str] = "ro.mai.notification.failed.v1"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"citizen_id", "smtp_status"})

    #: ``permanent`` or ``retries_exhausted``.
    failure: str
    failed_at: datetime
    smtp_status: int | None = None
