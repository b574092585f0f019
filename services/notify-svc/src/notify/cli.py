"""notify-svc's commands (beside the chassis' web, worker, migrate): purging finished notifications."""

from __future__ import annotations

import logging
from datetime import timedelta

import click
from mai_chassis import Database

from . import retention
from .config import Settings
from .deps import build_deps
from .handlers import PurgeFinishedNotifications, purge_finished_notifications
from .subscriptions import SERVICE

__all__ = ["COMMANDS", "purge_notifications"]

logger = logging.getLogger(__name__)


@click.command("purge-notifications", help="Delete finished notifications older than the retention period.")
@click.option("--older-than-days", type=click.IntRange(min=1), default=365, show_default=True)
def purge_notifications(older_than_days: int) -> None:
    from mai_chassis.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(SERVICE, level=settings.log_level, json_format=settings.log_json)
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    command = PurgeFinishedNotifications(older_than=timedelta(days=older_than_days))
    try:
        with database.unit_of_work(source=SERVICE) as uow:
            deleted = purge_finished_notifications(uow, build_deps(settings), command)
    finally:
        database.dispose()
    logger.info("purged %d finished notifications older than %d days", deleted, older_than_days)
    click.echo(f"{SERVICE}: {deleted} notifications purged")


COMMANDS = [purge_notifications, retention.purge]
