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
    handlers = {
        "ro.mai.identity.verified.v1": record_verified_identity,
        "ro.mai.account.deleted.v1": forget_account,
    }
    return EventConsumer.of_service(settings, database, handlers=handlers, group_id=group_id)


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    return [identity_consumer(settings, database)]
