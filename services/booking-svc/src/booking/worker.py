"""booking-svc's worker: the consumer of identity.verified and account.deleted, and the slot-horizon
gauge it exports."""

from __future__ import annotations

from functools import partial
from typing import Any

from mai_chassis import Database, EventConsumer

from .config import Settings

__all__ = ["worker_loops"]


def worker_loops(settings: Settings, database: Database) -> list[Any]:
    from mai_chassis.metrics import register_collector

    from .catalog import load_catalog
    from .deps import document_store
    from .handlers import ACCOUNT_DELETED, IDENTITY_VERIFIED, forget_account, record_verified_identity
    from .slot_horizon import SlotHorizon

    register_collector(SlotHorizon(database, load_catalog()))
    store = document_store(settings)

    return [
        EventConsumer.of_service(
            settings,
            database,
            handlers={
                IDENTITY_VERIFIED: record_verified_identity,
                ACCOUNT_DELETED: partial(forget_account, store=store),
            },
        )
    ]
