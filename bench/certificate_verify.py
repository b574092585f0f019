"""record-svc's public certificate check under load: verifications/s and p99, by code and by CNP.

Anyone may check a certificate (``POST /api/v1/certificates/verifications``): its number with the
code printed on it, or with the holder's CNP. The service runs under gunicorn as in production
(``record-svc web``, 2 workers x 8 threads) on a fresh PostgreSQL database holding ``CERTIFICATES``
issued certificates (rows written directly: issuing is measured by bench/certificate_issue.py).
Every answer must say ``valid``. The baseline is bench/hello_app.py under the same gunicorn settings,
driven by the same client in the same run. Bounded: each phase lasts ``BENCH_DURATION`` seconds.
Run: ``python -m bench.certificate_verify``.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mai_chassis import Database
from mai_chassis.migrations import upgrade
from mai_chassis.testing import TokenIssuer, create_database, drop_database, serve_jwks
from record.domain import format_registration_number, new_verification_code
from record.registry import CnpHasher
from record.tables import CertificateApplication
from sqlalchemy import func, insert, select

from bench.harness import BIN, ROOT, Row, free_port, gunicorn, process, report, run_load

MIGRATIONS = ROOT / "services" / "record-svc" / "src" / "record" / "migrations"
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
CERTIFICATES = int(os.environ.get("BENCH_CERTIFICATES", "2000"))


def seed_certificates(database: Database, hasher: CnpHasher, count: int) -> list[tuple[str, str, str]]:
    """Issued, valid certificates: (registration number, printed code, holder's CNP) each."""
    now = datetime.now(UTC)
    generator = random.Random(20)
    issued: list[tuple[str, str, str]] = []
    rows = []
    for sequence in range(1, count + 1):
        number = format_registration_number(now.year, sequence)
        code = new_verification_code()
        cnp = "".join(generator.choice("0123456789") for _ in range(13))
        issued.append((number, code, cnp))
        rows.append(
            {
                "id": uuid.uuid4(),
                "citizen_id": uuid.uuid4(),
                "purpose": "employment",
                "application_day": now.date(),
                "channel": "online",
                "status": "issued",
                "requested_at": now,
                "holder_cnp_digest": hasher.digest(cnp),
                "holder_name": "Ion Popescu",
                "recipient_email": "bench@example.org",
                "language": "ro",
                "registration_number": number,
                "issued_at": now,
                "valid_until": now + timedelta(days=180),
                "verification_code_digest": hasher.code_digest(code),
            }
        )
    with database.engine.begin() as connection:
        connection.execute(insert(CertificateApplication), rows)
    return issued


def main() -> int:
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
    database_url = create_database(admin_url, "bench_verify")
    database = Database(database_url, pool_size=2, max_overflow=2)
    hash_key = uuid.uuid4().hex + uuid.uuid4().hex
    issuer = TokenIssuer()
    try:
        upgrade(database_url, MIGRATIONS)
        issued = seed_certificates(database, CnpHasher(hash_key), CERTIFICATES)

        with gunicorn("bench.hello_app:app", log_name="verify_hello") as hello_url:
            hello = run_load(
                lambda s, n: s.get(hello_url + "/hello", timeout=30), concurrency=CONCURRENCY, duration=DURATION
            )

        def valid(response: object) -> bool:
            return getattr(response, "status_code", 0) == 200 and response.json()["result"] == "valid"  # type: ignore[attr-defined]

        with serve_jwks(issuer.jwks) as jwks_url, tempfile.TemporaryDirectory() as workdir:
            port = free_port()
            env = {
                "ENVIRONMENT": "test",
                "LOG_LEVEL": "WARNING",
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                "JWT_JWKS_URL": jwks_url,
                "IDENTITY_URL": "http://127.0.0.1:9",  # the check never asks the civil status
                "REGISTRY_HASH_KEY": hash_key,
                "CERTIFICATES_DIR": str(Path(workdir) / "certificates"),
                "SIGNING_DIR": str(Path(workdir) / "signing"),
                "WEB_CONCURRENCY": "2",
                "WEB_THREADS": "8",
                "PROMETHEUS_MULTIPROC_DIR": str(Path(workdir) / "metrics"),
            }
            Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
            with process(
                [str(BIN / "record-svc"), "web", "--bind", f"127.0.0.1:{port}"],
                env=env,
                ready_url=f"http://127.0.0.1:{port}/healthz",
                log_name="verify_web",
            ):
                url = f"http://127.0.0.1:{port}/api/v1/certificates/verifications"
                by_code = run_load(
                    lambda s, n: s.post(
                        url,
                        json={"number": issued[n % len(issued)][0], "verification_code": issued[n % len(issued)][1]},
                        timeout=30,
                    ),
                    concurrency=CONCURRENCY,
                    duration=DURATION,
                    ok=valid,
                )
                by_cnp = run_load(
                    lambda s, n: s.post(
                        url, json={"number": issued[n % len(issued)][0], "cnp": issued[n % len(issued)][2]}, timeout=30
                    ),
                    concurrency=CONCURRENCY,
                    duration=DURATION,
                    ok=valid,
                )
        with database.engine.connect() as connection:
            counted = connection.scalar(select(func.sum(CertificateApplication.verifications)))
    finally:
        database.dispose()
        drop_database(admin_url, database_url)

    rows = [
        Row("hello baseline (GET /hello)", "req/s", hello.throughput),
        Row("hello baseline p99", "ms", hello.percentile(99)),
        Row("verification by code (valid)", "req/s", by_code.throughput, hello.throughput),
        Row("verification by code p99", "ms", by_code.percentile(99), hello.percentile(99)),
        Row("verification by CNP (valid)", "req/s", by_cnp.throughput, hello.throughput),
        Row("verification by CNP p99", "ms", by_cnp.percentile(99), hello.percentile(99)),
    ]
    report(
        "certificate_verify",
        "record-svc: public certificate verification by code and by CNP",
        rows,
        extra={
            "hello": hello.summary(),
            "by_code": by_code.summary(),
            "by_cnp": by_cnp.summary(),
            "statuses": {"by_code": by_code.statuses, "by_cnp": by_cnp.statuses},
            "verifications_counted": counted,
            "load_average": os.getloadavg(),
            "concurrency": CONCURRENCY,
            "duration_s": DURATION,
        },
    )
    return 0 if by_code.errors == 0 and by_cnp.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
