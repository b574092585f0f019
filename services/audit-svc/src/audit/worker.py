"""audit-svc's worker: one consumer group over every service's staff-action topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mai_contracts
from mai_chassis import Database, Event, EventConsumer, UnitOfWork

from .anchor import register_checkpoint_gauges
from .config import Settings
from .deps import AuditDeps, build_deps
from .handlers import append_staff_action
from .metrics import count_appended

__all__ = ["CONSUMER_GROUP", "SERVICE", "build_consumer", "staff_action_event_types", "worker_loops"]

SERVICE = "audit-svc"
CONSUMER_GROUP = SERVICE


def staff_action_event_types() -> list[str]:
    """The staff-action event type of every service (one topic each), as declared in contracts/."""
    return [topic.event_type for topic in mai_contracts.staff_action_topics() if SERVICE in topic.consumers]


def build_consumer(
    deps: AuditDeps, database: Database, *, group_id: str = CONSUMER_GROUP, **options: Any
) -> EventConsumer:
    """One consumer group over every service's staff-action topic; each event is appended once."""

    def handler(uow: UnitOfWork, event: Event) -> None:
        if append_staff_action(uow, event) is not None:
            count_appended(event.source)

    handlers = dict.fromkeys(staff_action_event_types(), handler)
    return EventConsumer.of_service(deps.settings, database, handlers=handlers, group_id=group_id, **options)


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    register_checkpoint_gauges(database)
    return [build_consumer(build_deps(settings), database)]
