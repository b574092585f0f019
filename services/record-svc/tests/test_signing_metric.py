"""record-svc exports when its signing certificate expires, for the alert that asks for renewal in time."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from flask import Flask
from mai_chassis.metrics import render_metrics
from prometheus_client.parser import text_string_to_metric_families


def _exported_not_after() -> float:
    text, _ = render_metrics()
    [family] = [
        f
        for f in text_string_to_metric_families(text.decode())
        if f.name == "certificate_signing_not_after_timestamp_seconds"
    ]
    [sample] = family.samples
    assert sample.labels == {"service": "record-svc"}
    return float(sample.value)


def test_the_signing_certificates_not_after_is_exported(app: Flask, signing_dir: Path) -> None:
    certificate = x509.load_pem_x509_certificate((signing_dir / "signing-cert.pem").read_bytes())
    assert _exported_not_after() == certificate.not_valid_after_utc.timestamp()


def test_a_renewed_certificate_shows_at_the_next_scrape(app: Flask, signing_dir: Path, tmp_path: Path) -> None:
    from record.metrics import watch_signing_certificate

    mounted = tmp_path / "signing-cert.pem"  # as the Secret's file, replaced in place on renewal
    mounted.write_bytes((signing_dir / "signing-cert.pem").read_bytes())
    watch_signing_certificate(mounted)
    before = _exported_not_after()
    renewal = (signing_dir / "chain.pem").read_bytes()  # another certificate, valid for longer
    mounted.write_bytes(renewal)
    after = _exported_not_after()
    assert after == x509.load_pem_x509_certificate(renewal).not_valid_after_utc.timestamp()
    assert after > before
