"""petition-svc's definition: its web app, migrations, worker loops and command line."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from mai_chassis import Clock, Database, EventConsumer, ServiceDefinition, service_main

from . import create_app, retention
from .config import Settings
from .deps import PetitionDeps, build_deps

logger = logging.getLogger(__name__)


def remind_all_deadlines(
    database: Database, deps: PetitionDeps, *, working_days: int, batch_size: int = 200, clock: Clock | None = None
) -> int:
    """Issue every reminder due now, batch after batch (one transaction each); how many were issued."""
    from .handlers import RemindDeadlines, remind_deadlines

    command = RemindDeadlines(working_days=working_days, batch_size=batch_size)
    issued = 0
    while True:
        with database.unit_of_work(source=deps.settings.service_name, clock=clock) as uow:
            batch = remind_deadlines(uow, deps, command)
        issued += len(batch)
        if not batch:
            return issued


@click.command("remind-deadlines", help="Remind assigned clerks of answer deadlines a few working days away.")
def remind_deadlines_command() -> None:
    from mai_chassis.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.service_name, level=settings.log_level, json_format=settings.log_json)
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        issued = remind_all_deadlines(
            database, build_deps(settings), working_days=settings.deadline_reminder_working_days
        )
    finally:
        database.dispose()
    logger.info("deadline reminders issued: %d", issued)
    click.echo(f"petition-svc: {issued} deadline reminders issued")


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    """The consumer of ``account.deleted`` (petitions of a deleted account are unlinked from it)."""
    from .handlers.accounts import ACCOUNT_DELETED, unlink_account

    return [
        EventConsumer(
            database,
            service=settings.service_name,
            group_id="petition-svc",
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            handlers={ACCOUNT_DELETED: unlink_account},
            consumer_options=settings.kafka_client_options,
        )
    ]


definition = ServiceDefinition(
    name="petition-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=[remind_deadlines_command, retention.purge],
)

main = service_main("petition.service:definition")
