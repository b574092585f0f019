"""identity-svc's worker: it consumes no topic, so it runs the chassis' loops alone (the outbox relay,
the idempotency purge); a consumer of identity-svc's would be returned here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mai_chassis import Database

from .config import Settings

__all__ = ["worker_loops"]


def worker_loops(settings: Settings, database: Database) -> Sequence[Any]:
    """None beside the chassis' own."""
    return []
