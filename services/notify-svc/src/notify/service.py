"""notify-svc's definition: web app, migrations, worker loops (event consumer, delivery loops), CLI."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from mai_chassis import Database, Event, EventConsumer, ServiceDefinition, UnitOfWork, service_main
from mai_chassis.sealing import Sealer

from . import create_app, retention
from .config import Settings
from .delivery import DeliveryLoop, DeliveryPolicy, delivery_wakeup
from .deps import NotifyDeps, build_deps
from .handlers import (
    ACCOUNT_DELETED,
    PurgeFinishedNotifications,
    forget_account,
    purge_finished_notifications,
    record_notification,
)
from .mailer import SmtpMailer
from .subscriptions import SERVICE, sealed_paths, subscribed_event_types

__all__ = ["build_consumer", "build_delivery_loops", "definition", "main", "worker_loops"]

logger = logging.getLogger(__name__)

CONSUMER_GROUP = SERVICE


def build_consumer(
    deps: NotifyDeps, database: Database, *, group_id: str = CONSUMER_GROUP, **options: Any
) -> EventConsumer:
    """The consumer of every topic the contracts route to notify-svc."""
    settings = deps.settings

    def handler(uow: UnitOfWork, event: Event) -> None:
        record_notification(uow, deps, event)

    def account_deleted(uow: UnitOfWork, event: Event) -> None:
        forget_account(uow, deps, event)

    return EventConsumer(
        database,
        service=SERVICE,
        group_id=group_id,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic_prefix=settings.kafka_topic_prefix,
        handlers={**dict.fromkeys(subscribed_event_types(), handler), ACCOUNT_DELETED: account_deleted},
        consumer_options=settings.kafka_client_options,
        **options,
    )


def build_delivery_loops(deps: NotifyDeps, database: Database) -> list[DeliveryLoop]:
    settings, registry = deps.settings, deps.registry
    needs_sealer = any(sealed_paths(event_type) for event_type in subscribed_event_types())
    # Fails fast (ConfigurationError) when an event notify-svc mails carries a sealed field and
    # EVENT_SEALING_KEYS is missing.
    sealer = Sealer.from_env() if needs_sealer else None
    policy = DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts,
        retry_base_seconds=settings.delivery_retry_base_seconds,
        retry_max_seconds=settings.delivery_retry_max_seconds,
        lease_seconds=settings.delivery_lease_seconds,
        batch_size=settings.delivery_batch_size,
        idle_seconds=settings.delivery_idle_seconds,
    )

    def smtp() -> SmtpMailer:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )

    wakeup = delivery_wakeup(database, policy)
    return [
        DeliveryLoop(
            database,
            registry=registry,
            transport_factory=smtp,
            mail_from=settings.mail_from,
            policy=policy,
            sealer=sealer,
            name=f"delivery-{index + 1}",
            wakeup=wakeup,
        )
        for index in range(settings.delivery_concurrency)
    ]


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    deps = build_deps(settings)
    return [build_consumer(deps, database), *build_delivery_loops(deps, database)]


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


definition = ServiceDefinition(
    name=SERVICE,
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=[purge_notifications, retention.purge],
)

main = service_main("notify.service:definition")
