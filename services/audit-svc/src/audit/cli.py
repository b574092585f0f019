"""audit-svc's commands (beside the chassis' web, worker, migrate): verifying the hash chain against
the signed checkpoints, and anchoring its head outside the database."""

from __future__ import annotations

import logging
import sys

import click
from mai_chassis import Database

from .anchor import AnchorChain, CheckAnchors, anchor_chain, check_anchors, read_checkpoints
from .config import Settings
from .deps import AuditDeps, build_deps
from .handlers import VerifyChain, verify_chain
from .worker import SERVICE

__all__ = ["COMMANDS", "anchor", "verify_audit"]

logger = logging.getLogger(__name__)


@click.command(
    "verify-audit",
    help="Walk the audit trail's hash chain and report the first broken row; then check the table "
    "against the newest signed checkpoints on the broker (removed or rewritten newest rows).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option(
    "--all-checkpoints",
    is_flag=True,
    help="Check the table against every checkpoint the broker keeps, not only the newest "
    "(AUDIT_CHECKPOINTS_CHECKED): rows rewritten long ago show against the checkpoints of their time.",
)
def verify_audit(batch_size: int, all_checkpoints: bool) -> None:
    from mai_chassis.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(SERVICE, level=settings.log_level, json_format=settings.log_json)
    deps = build_deps(settings)
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.unit_of_work(source=SERVICE) as uow:
            report = verify_chain(uow, deps, VerifyChain(batch_size=batch_size))
        anchors_hold = _verify_anchors(settings, deps, database, every_one=all_checkpoints)
    finally:
        database.dispose()
    if report.broken is not None:
        logger.error("audit chain broken at row %d after %d good rows", report.broken.seq, report.rows_checked)
        click.echo(f"{SERVICE}: audit chain BROKEN at {report.broken} ({report.rows_checked} rows before it check out)")
        sys.exit(1)
    click.echo(f"{SERVICE}: audit chain intact, {report.rows_checked} rows, last hash {report.last_hash}")
    if not anchors_hold:
        sys.exit(1)


def _verify_anchors(settings: Settings, deps: AuditDeps, database: Database, *, every_one: bool) -> bool:
    """Check the table against the newest checkpoints on the broker; False when it fails them.

    Without checkpoint keys the check cannot be made: said so, and a failure in production only.
    """
    if not settings.audit_checkpoint_keys:
        click.echo(f"{SERVICE}: checkpoints NOT checked: AUDIT_CHECKPOINT_KEYS is not set")
        return not settings.is_production
    try:
        events = read_checkpoints(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            security=settings.kafka_client_options,
            newest=None if every_one else settings.audit_checkpoints_checked,
        )
    except Exception as exc:
        logger.error("audit checkpoints could not be read: %s", exc.__class__.__name__)
        click.echo(f"{SERVICE}: checkpoints could NOT be read from the broker ({exc.__class__.__name__}: {exc})")
        return False
    with database.unit_of_work(source=SERVICE) as uow:
        anchors = check_anchors(uow, deps, CheckAnchors(checkpoints=[event.data for event in events]))
    for finding in anchors.findings:
        logger.error("audit checkpoint of row %d fails: %s", finding.seq, finding.problem)
        click.echo(f"{SERVICE}: audit chain FAILS its {finding}")
    if not events:
        click.echo(f"{SERVICE}: no checkpoint on the broker yet (run `{SERVICE} anchor`)")
    elif anchors.holds:
        click.echo(f"{SERVICE}: {anchors.confirmed} checkpoints hold (newest anchors row {anchors.newest_seq})")
    return anchors.holds


@click.command("anchor", help="Publish the audit chain's head (position and hash), signed, as a checkpoint.")
def anchor() -> None:
    from mai_chassis.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(SERVICE, level=settings.log_level, json_format=settings.log_json)
    deps = build_deps(settings)
    deps.checkpoint_signer()  # fail before touching the database when the keys are missing
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.unit_of_work(source=SERVICE) as uow:
            checkpoint = anchor_chain(uow, deps, AnchorChain())
    finally:
        database.dispose()
    click.echo(f"{SERVICE}: anchored row {checkpoint.seq}, hash {checkpoint.row_hash} (the worker publishes it)")


COMMANDS = [verify_audit, anchor]
