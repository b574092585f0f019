"""notify-svc's worker: the consumer of every event a citizen is mailed about (and of account.deleted),
and the delivery loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mai_chassis import Database, Event, EventConsumer, UnitOfWork
from mai_chassis.sealing import Sealer

from .config import Settings
from .delivery import DeliveryLoop, DeliveryPolicy, delivery_wakeup
from .deps import NotifyDeps, build_deps
from .handlers import ACCOUNT_DELETED, forget_account, record_notification
from .mailer import SmtpMailer
from .subscriptions import SERVICE, sealed_paths, subscribed_event_types

__all__ = ["CONSUMER_GROUP", "build_consumer", "build_delivery_loops", "worker_loops"]

CONSUMER_GROUP = SERVICE


def build_consumer(
    deps: NotifyDeps, database: Database, *, group_id: str = CONSUMER_GROUP, **options: Any
) -> EventConsumer:
    """The consumer of every topic the contracts route to notify-svc."""

    def handler(uow: UnitOfWork, event: Event) -> None:
        record_notification(uow, deps, event)

    def account_deleted(uow: UnitOfWork, event: Event) -> None:
        forget_account(uow, deps, event)

    handlers = {**dict.fromkeys(subscribed_event_types(), handler), ACCOUNT_DELETED: account_deleted}
    return EventConsumer.of_service(deps.settings, database, handlers=handlers, group_id=group_id, **options)


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
