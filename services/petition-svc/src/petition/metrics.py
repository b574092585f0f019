"""petition-svc's own metrics: overdue petitions per institution and the attachment store's use against
its budget, read from the database at scrape time; submissions refused by a quota."""

from __future__ import annotations

import time
from collections.abc import Iterable

from mai_chassis import Database, SystemClock
from mai_chassis.metrics import register_collector
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .quotas import StorageUse

__all__ = [
    "PETITIONS_REGISTERED",
    "SUBMISSIONS_REFUSED",
    "AttachmentStorage",
    "OverduePetitions",
    "register_overdue_gauge",
    "register_storage_gauge",
]

PETITIONS_REGISTERED = Counter(
    "petitions_registered_total", "Petitions registered.", ["service", "institution", "kind", "channel"]
)
SUBMISSIONS_REFUSED = Counter(
    "petition_submissions_refused_total",
    "Petitions with attachments refused before anything was stored: client-quota, recipient-quota, "
    "challenge-required, storage-full.",
    ["service", "reason"],
)


class OverduePetitions(Collector):
    """``petitions_overdue{institution}``: open petitions past their answer deadline.

    The count is cached for a few seconds so that frequent scrapes of several pods do not each
    query the database.
    """

    def __init__(self, service: str, database: Database, *, ttl: float = 15.0) -> None:
        self.service, self.database, self.ttl = service, database, ttl
        self.clock = SystemClock()
        self.identity = f"petitions_overdue:{service}"
        self._cached: tuple[float, dict[str, int]] | None = None

    def counts(self) -> dict[str, int]:
        from .handlers.queries import count_overdue

        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.ttl:
            with self.database.session() as session:
                self._cached = (now, count_overdue(session, self.clock.today()))
        return self._cached[1]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "petitions_overdue", "Open petitions past their answer deadline.", labels=["service", "institution"]
        )
        try:
            for institution, count in sorted(self.counts().items()):
                family.add_metric([self.service, institution], count)
        except Exception:  # a scrape must never fail because the database is away
            family.add_metric([self.service, ""], float("nan"))
        yield family


def register_overdue_gauge(service: str, database: Database) -> OverduePetitions:
    collector = OverduePetitions(service, database)
    register_collector(collector)
    return collector


class AttachmentStorage(Collector):
    """``petition_attachment_store_bytes`` and ``petition_attachment_store_budget_bytes``: what the
    attachment store holds (distinct files) and what it may hold; alert before the two meet."""

    def __init__(self, service: str, database: Database, use: StorageUse, budget: int) -> None:
        self.service, self.database, self.use, self.budget = service, database, use, budget
        self.identity = f"petition_attachment_store:{service}"

    def collect(self) -> Iterable[GaugeMetricFamily]:
        stored = GaugeMetricFamily(
            "petition_attachment_store_bytes", "Bytes of petition attachments stored.", labels=["service"]
        )
        try:
            with self.database.session() as session:
                stored.add_metric([self.service], self.use.bytes_stored(session))
        except Exception:  # a scrape must never fail because the database is away
            stored.add_metric([self.service], float("nan"))
        yield stored
        budget = GaugeMetricFamily(
            "petition_attachment_store_budget_bytes",
            "Bytes of attachments the store may hold (ATTACHMENT_STORAGE_BUDGET_BYTES).",
            labels=["service"],
        )
        budget.add_metric([self.service], self.budget)
        yield budget


def register_storage_gauge(service: str, database: Database, use: StorageUse, budget: int) -> AttachmentStorage:
    collector = AttachmentStorage(service, database, use, budget)
    register_collector(collector)
    return collector
