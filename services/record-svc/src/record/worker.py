"""record-svc's consumers: ``identity.verified`` tells it which citizens may apply online,
``account.deleted`` which to forget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mai_chassis import Database, EventConsumer

from .config import Settings
from .handlers import forget_account, record_verified_identity

__all__ = ["CONSUMER_GROUP", "worker_loops"]

CONSUMER_GROUP = "record-svc"


def identity_consumer(settings: Settings, database: Database, *, group_id: str = CONSUMER_GROUP) -> EventConsumer:
    return EventConsumer(
        database,
        service=settings.service_name,
        group_id=group_id,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic_prefix=settings.kafka_topic_prefix,
        handlers={
            "ro.mai.identity.verified.v1": record_verified_identity,
            "ro.mai.account.deleted.v1": forget_account,
        },
        consumer_options=settings.kafka_client_options,
    )


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    return [identity_consumer(settings, database)]
