"""petition-svc's own metrics: overdue petitions per institution, read from the database at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterable

from mai_chassis import Database
from mai_chassis.metrics import register_collector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import domain, handlers

__all__ = ["OverduePetitions", "register_overdue_gauge"]


class OverduePetitions(Collector):
    """``petitions_overdue{institution}``: open petitions past their answer deadline.

    The count is cached for a few seconds so that frequent scrapes of several pods do not each
    query the database.
    """

    def __init__(self, service: str, database: Database, *, ttl: float = 15.0) -> None:
        self.service, self.database, self.ttl = service, database, ttl
        self.identity = f"petitions_overdue:{service}"
        self._cached: tuple[float, dict[str, int]] | None = None

    def counts(self) -> dict[str, int]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.ttl:
            with self.database.session() as session:
                self._cached = (now, handlers.count_overdue(session, domain.local_date(domain.now())))
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
