"""record-svc's own Prometheus metrics (HTTP, outbox and consumer metrics come with the chassis)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from mai_chassis.metrics import CallbackGauge, register_collector
from prometheus_client import Counter, Histogram

__all__ = [
    "APPLICATIONS",
    "ISSUE_SECONDS",
    "SERVICE",
    "VERIFICATIONS",
    "VERIFICATION_LOCKS",
    "watch_signing_certificate",
]

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


def watch_signing_certificate(cert_file: Path) -> None:
    """Export the signing certificate's not-after (read at each scrape, so a renewed certificate shows at once)."""

    def not_after() -> float:
        return x509.load_pem_x509_certificate(cert_file.read_bytes()).not_valid_after_utc.timestamp()

    register_collector(
        CallbackGauge(
            "certificate_signing_not_after_timestamp_seconds",
            "When the certificate that signs the PDF certificates expires (Unix time).",
            {"service": SERVICE},
            not_after,
        )
    )
