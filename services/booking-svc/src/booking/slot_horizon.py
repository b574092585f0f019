"""Keeping every office's calendar bookable: slots generated a number of weeks ahead, and its metric.

``booking-svc generate-slots --weeks N`` runs on a schedule (a Kubernetes CronJob, hourly in
``make run``): each run creates the slots of the days from today to ``N`` weeks ahead that do not
exist yet, from each office's opening hours and the holiday calendar. A run is idempotent (the
slots' unique key and ``ON CONFLICT DO NOTHING``) and safe when several run at once — an advisory
lock makes them take turns, so the second finds the work done and adds nothing. As the days pass
the horizon moves with them.

The booking-svc worker exports ``booking_slots_last_start_timestamp_seconds{office}``, the start
of each office's last slot, read from the database at scrape time: an alert fires when an office's
calendar runs short of the horizon, whatever stopped the job.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from mai_chassis import Database
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from . import domain
from .catalog import Catalog
from .tables import Slot

__all__ = ["SlotHorizon", "generate_ahead", "generate_between", "horizon_days", "last_slot_starts", "office_today"]

logger = logging.getLogger(__name__)

#: Serialises concurrent runs (``pg_advisory_xact_lock``; released at commit).
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"booking-svc:generate-slots").digest()[:8], "big") >> 1


def horizon_days(today: date, weeks: int) -> tuple[date, date]:
    """The days a run covers: ``weeks`` whole weeks from today (today included)."""
    return today, today + timedelta(weeks=weeks) - timedelta(days=1)


def office_today(now: datetime | None = None) -> date:
    """Today in the offices' time zone (a run just after midnight UTC is already tomorrow there)."""
    return (now or datetime.now(domain.OFFICE_TIME_ZONE)).astimezone(domain.OFFICE_TIME_ZONE).date()


def generate_ahead(database: Database, catalog: Catalog, *, today: date, weeks: int, offices: Iterable[str]) -> int:
    """Create the missing slots of ``offices`` from ``today`` to ``weeks`` weeks ahead; returns how many."""
    first, last = horizon_days(today, weeks)
    return generate_between(database, catalog, first, last, offices)


def generate_between(database: Database, catalog: Catalog, first: date, last: date, offices: Iterable[str]) -> int:
    """Create the missing slots of ``offices`` for the days ``first``..``last``, one run at a time.

    The slots that already exist are read first and only the missing ones are inserted, so the
    hourly run that finds the calendar complete writes nothing (inserting every slot again with
    ``ON CONFLICT DO NOTHING`` took half a minute for eight weeks of every office).
    """
    codes = list(offices)
    wanted = {
        (office, s.counter, s.starts_at.astimezone(UTC)): s.ends_at.astimezone(UTC)
        for office in codes
        for day in _days(first, last)
        for s in domain.office_slots(
            catalog.offices[office], day, calendar=catalog.calendar, slot_minutes=catalog.slot_minutes
        )
    }
    created = 0
    with database.session() as session:
        is_postgresql = session.get_bind().dialect.name == "postgresql"
        if is_postgresql:
            # Another pod's run in progress: wait for it, then find its slots and add only what is missing.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if wanted:
            starts = [key[2] for key in wanted]
            existing = session.execute(
                select(Slot.office, Slot.counter, Slot.starts_at).where(
                    Slot.office.in_(codes), Slot.starts_at >= min(starts), Slot.starts_at <= max(starts)
                )
            )
            missing = dict(wanted)
            for office, counter, starts_at in existing:
                missing.pop((office, counter, _utc(starts_at)), None)
            rows = [
                {"office": office, "counter": counter, "starts_at": starts_at, "ends_at": ends_at, "is_booked": False}
                for (office, counter, starts_at), ends_at in sorted(missing.items())
            ]
            insert = postgresql.insert if is_postgresql else sqlite.insert
            statement = insert(Slot).on_conflict_do_nothing(index_elements=["office", "counter", "starts_at"])
            for chunk in range(0, len(rows), 5000):
                created += len(session.execute(statement.returning(Slot.id), rows[chunk : chunk + 5000]).all())
        session.commit()  # releases the lock
    logger.info("generated %d new slots from %s to %s", created, first, last)
    return created


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def last_slot_starts(database: Database, catalog: Catalog) -> dict[str, datetime | None]:
    """The start of each office's last slot (None: the office has none), one index probe per counter."""
    pairs = [(office.code, counter) for office in catalog.offices.values() for counter in office.counters]
    if not pairs:
        return {}
    if database.engine.dialect.name == "postgresql":
        query = text(
            "SELECT v.office, max(l.last) FROM unnest(CAST(:offices AS text[]), CAST(:counters AS text[]))"
            " AS v(office, counter) CROSS JOIN LATERAL (SELECT max(starts_at) AS last FROM slots"
            " WHERE slots.office = v.office AND slots.counter = v.counter) AS l GROUP BY v.office"
        )
        parameters = {"offices": [o for o, _ in pairs], "counters": [c for _, c in pairs]}
    else:
        query = text("SELECT office, max(starts_at) FROM slots GROUP BY office")
        parameters = {}
    found: dict[str, datetime | None] = dict.fromkeys(catalog.offices)
    with database.engine.connect() as connection:
        for office, last in connection.execute(query, parameters):
            if office in found:
                found[office] = (
                    last if last is None or isinstance(last, datetime) else datetime.fromisoformat(str(last))
                )
    return found


class SlotHorizon(Collector):
    """``booking_slots_last_start_timestamp_seconds{office}``, read at scrape time."""

    identity = "booking_slots_last_start_timestamp_seconds"

    def __init__(self, database: Database, catalog: Catalog) -> None:
        self._database, self._catalog = database, catalog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "booking_slots_last_start_timestamp_seconds",
            "Start of the last generated slot of each office (Unix time; 0: the office has no slot).",
            labels=["office"],
        )
        try:
            starts = last_slot_starts(self._database, self._catalog)
        except Exception:  # a scrape must never fail because the database is down: no sample then
            logger.debug("slot horizon not read", exc_info=True)
            starts = {}
        for office, last in sorted(starts.items()):
            family.add_metric([office], last.timestamp() if last else 0.0)
        yield family
