"""audit-svc's commands (beside the chassis' web, worker, migrate): verifying the hash chain."""

from __future__ import annotations

import logging
import sys

import click
from mai_chassis import Database

from .config import Settings
from .deps import build_deps
from .handlers import VerifyChain, verify_chain
from .worker import SERVICE

__all__ = ["COMMANDS", "verify_audit"]

logger = logging.getLogger(__name__)


@click.command("verify-audit", help="Walk the audit trail's hash chain and report the first broken row.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
def verify_audit(batch_size: int) -> None:
    from mai_chassis.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(SERVICE, level=settings.log_level, json_format=settings.log_json)
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.unit_of_work(source=SERVICE) as uow:
            report = verify_chain(uow, build_deps(settings), VerifyChain(batch_size=batch_size))
    finally:
        database.dispose()
    if report.broken is not None:
        logger.error("audit chain broken at row %d after %d good rows", report.broken.seq, report.rows_checked)
        click.echo(f"{SERVICE}: audit chain BROKEN at {report.broken} ({report.rows_checked} rows before it check out)")
        sys.exit(1)
    click.echo(f"{SERVICE}: audit chain intact, {report.rows_checked} rows, last hash {report.last_hash}")


COMMANDS = [verify_audit]
