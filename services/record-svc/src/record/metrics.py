"""record-svc's own Prometheus metrics (HTTP, outbox and consumer metrics come with the chassis)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["APPLICATIONS", "ISSUE_SECONDS", "SERVICE", "VERIFICATIONS", "VERIFICATION_LOCKS"]

SERVICE = "record-svc"

APPLICATIONS = Counter("certificate_applications_total", "Certificate applications by outcome.", ["service", "outcome"])
ISSUE_SECONDS = Histogram(
    "certificate_issue_seconds",
    "Time to render and sign one certificate.",
    ["service"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
VERIFICATIONS = Counter(
    "certificate_verifications_total",
    "Public verifications by method (cnp, code) and result (valid, expired, revoked, not_found, locked).",
    ["service", "method", "result"],
)
VERIFICATION_LOCKS = Counter(
    "certificate_verification_locks_total",
    "Registration numbers locked for verification by CNP after too many wrong CNPs.",
    ["service"],
)
