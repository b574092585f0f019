"""booking-svc's retention rules (contracts retention.yaml): the queries of `booking-svc purge`.

Its own data class is declared in the retention table but not yet enforced (see the table's
`enforced`): the purge removes the chassis' published outbox rows and expired idempotency records.
"""

from __future__ import annotations

from mai_chassis.retention import RetentionRule, purge_command

from .config import Settings

__all__ = ["purge", "rules"]

SERVICE = "booking-svc"


def rules(settings: Settings | None = None) -> list[RetentionRule]:
    return []


purge = purge_command(SERVICE, Settings, rules)
