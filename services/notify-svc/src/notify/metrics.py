"""notify-svc's own metrics: notifications by outcome and the time one SMTP hand-over takes."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

NOTIFICATIONS = Counter(
    "notifications_total",
    "Notification delivery attempts by outcome: sent, failed (for good), retried (will be tried again).",
    ["service", "outcome"],
)
NOTIFICATIONS_SUPPRESSED = Counter(
    "notifications_suppressed_total",
    "Mails anyone can trigger that were not sent: the recipient address reached its limit in the window.",
    ["service", "event_type"],
)
NOTIFICATION_SEND_SECONDS = Histogram(
    "notification_send_seconds",
    "Time to hand one mail to the SMTP server (connection set-up included when there was none).",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
