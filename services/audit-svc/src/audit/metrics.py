"""audit-svc's own metrics (the chassis exports the HTTP, consumer and outbox ones)."""

from __future__ import annotations

from prometheus_client import Counter

SERVICE = "audit-svc"

AUDIT_RECORDS = Counter(
    "audit_records_appended_total",
    "Staff actions appended to the audit trail, by the service that reported them (a replayed event is not).",
    ["service", "source"],
)


def count_appended(source: str) -> None:
    AUDIT_RECORDS.labels(SERVICE, source).inc()
