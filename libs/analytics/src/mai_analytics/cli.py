"""`mai-analytics redact` (the redaction stream) and `mai-analytics archive` (the Parquet archiver).

Settings (environment):
    KAFKA_BOOTSTRAP_SERVERS     required; KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_CAFILE as
                                for every service; KAFKA_TOPIC_PREFIX (tests only)
    ANALYTICS_PSEUDONYM_KEY     redact: the HMAC key of the pseudonyms (at least 32 characters; a
                                secret: whoever holds it can test a guessed address against them)
    ANALYTICS_ARCHIVE_DIR       archive: the archive root, a local directory (default var/archive) or
                                s3://bucket/prefix (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION;
                                ANALYTICS_S3_ENDPOINT_URL for an S3-compatible store that is not AWS)
    METRICS_PORT                /metrics and /healthz (default 9090)
    WORKER_STALL_SECONDS        /healthz fails when the stream has not gone round for this long
                                (default 120, at least 30; the archiver is judged by its thread alone)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from environs import Env
from mai_chassis.kafka_clients import KafkaSecurity
from mai_chassis.logs import configure_logging
from mai_chassis.worker import DEFAULT_STALL_SECONDS, MIN_STALL_SECONDS, run_worker

from .archive import Archiver
from .redaction import RedactionStream


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mai-analytics", description=__doc__)
    parser.add_argument("command", choices=["redact", "archive"])
    args = parser.parse_args(argv)
    env = Env(expand_vars=False)
    bootstrap = env.str("KAFKA_BOOTSTRAP_SERVERS")
    prefix = env.str("KAFKA_TOPIC_PREFIX", "")
    try:
        options = KafkaSecurity.from_env().client_options()
    except ValueError as exc:
        print(f"mai-analytics: {exc}", file=sys.stderr)
        return 2
    configure_logging(
        f"analytics-{args.command}", level=env.str("LOG_LEVEL", "INFO"), json_format=env.bool("LOG_JSON", True)
    )
    metrics_port = env.int("METRICS_PORT", 9090)
    stall_after = env.float("WORKER_STALL_SECONDS", DEFAULT_STALL_SECONDS)
    if stall_after < MIN_STALL_SECONDS:
        print(f"mai-analytics: WORKER_STALL_SECONDS must be at least {MIN_STALL_SECONDS:.0f}", file=sys.stderr)
        return 2
    loop: RedactionStream | Archiver
    if args.command == "redact":
        key = env.str("ANALYTICS_PSEUDONYM_KEY")
        if len(key) < 32:
            print("mai-analytics: ANALYTICS_PSEUDONYM_KEY must be at least 32 characters", file=sys.stderr)
            return 2
        loop = RedactionStream(
            bootstrap_servers=bootstrap, pseudonym_key=key.encode(), topic_prefix=prefix, client_options=options
        )
    else:
        loop = Archiver(
            env.str("ANALYTICS_ARCHIVE_DIR", "var/archive"),
            bootstrap_servers=bootstrap,
            topic_prefix=prefix,
            client_options=options,
            s3_endpoint_url=env.str("ANALYTICS_S3_ENDPOINT_URL", ""),
        )
    run_worker([loop], metrics_port=metrics_port, stall_after=stall_after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
