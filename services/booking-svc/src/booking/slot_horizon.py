"""Keeping every office's calendar bookable: slots generated a number of weeks ahead, and its metric.

``booking-svc generate-slots --weeks N`` runs on a schedule (a Kubernetes CronJob, hourly in
``make run``): each run creates the slots of the days from today to ``N`` weeks ahead that do not
exist yet, from each office's schedule in the database (opening hours, counters per slot type,
closures; edited by office managers) and Romania's public holidays, and withdraws the free slots
the schedule no longer has. An office manager's change reconciles that office at once. A run is idempotent (the
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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mai_chassis import Database
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import domain
from .catalog import Catalog
from .tables import OfficeClosure, OpeningHours, Slot, SlotCapacity
from .tables import OfficeSchedule as OfficeScheduleRow

__all__ = [
    "Reconciled",
    "SlotHorizon",
    "generate_ahead",
    "generate_between",
    "horizon_days",
    "last_slot_starts",
    "load_schedules",
    "lock_generation",
    "office_today",
    "reconcile_slots",
]

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


def generate_between(
    database: Database,
    catalog: Catalog,
    first: date,
    last: date,
    offices: Iterable[str],
    *,
    now: datetime | None = None,
) -> int:
    """Bring the slots of ``offices`` for the days ``first``..``last`` in line with their schedules, one
    run at a time; returns how many slots were created.

    The slots that already exist are read first and only the missing ones are inserted, so the
    hourly run that finds the calendar complete writes nothing. Free slots that the schedule no
    longer has (hours shortened, counters taken off a slot type, a closure) are withdrawn.
    """
    now = now or datetime.now(UTC)
    created = 0
    with database.session() as session:
        lock_generation(session)  # another pod's run in progress: wait, then add only what is missing
        schedules = load_schedules(session, catalog, offices, from_day=first)
        for schedule in schedules.values():
            created += reconcile_slots(session, schedule, first, last, now=now).created
        session.commit()  # releases the lock
    logger.info("generated %d new slots from %s to %s", created, first, last)
    return created


def lock_generation(session: Session) -> None:
    """Take turns with every other generation (``pg_advisory_xact_lock``, released at commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def load_schedules(
    session: Session, catalog: Catalog, offices: Iterable[str], *, from_day: date
) -> dict[str, domain.OfficeSchedule]:
    """The schedules of ``offices`` (those that have one), with the closures not over before ``from_day``."""
    codes = [code for code in offices if code in catalog.offices]
    hours: dict[str, dict[str, list[domain.OpeningInterval]]] = {code: {} for code in codes}
    for row in session.scalars(
        select(OpeningHours).where(OpeningHours.office.in_(codes)).order_by(OpeningHours.office, OpeningHours.opens)
    ):
        weekday = domain.WEEKDAYS[row.weekday]
        hours[row.office].setdefault(weekday, []).append(domain.OpeningInterval(row.opens, row.closes))
    capacity: dict[str, dict[domain.SlotType, int]] = {code: {} for code in codes}
    for cap in session.scalars(select(SlotCapacity).where(SlotCapacity.office.in_(codes))):
        if cap.slot_type in {t.value for t in domain.SlotType}:
            capacity[cap.office][domain.SlotType(cap.slot_type)] = cap.counters
    closures: dict[str, list[domain.Closure]] = {code: [] for code in codes}
    for closure in session.scalars(
        select(OfficeClosure)
        .where(OfficeClosure.office.in_(codes), OfficeClosure.last_day >= from_day)
        .order_by(OfficeClosure.first_day)
    ):
        closures[closure.office].append(domain.Closure(closure.first_day, closure.last_day, closure.reason))
    return {
        row.office: domain.OfficeSchedule(
            office=row.office,
            counters=catalog.offices[row.office].counters,
            opening_hours={day: tuple(intervals) for day, intervals in hours[row.office].items()},
            capacity=capacity[row.office],
            closures=tuple(closures[row.office]),
            slot_minutes=row.slot_minutes,
        )
        for row in session.scalars(select(OfficeScheduleRow).where(OfficeScheduleRow.office.in_(codes)))
    }


@dataclass(frozen=True)
class Reconciled:
    created: int
    withdrawn: int


def reconcile_slots(
    session: Session, schedule: domain.OfficeSchedule, first: date, last: date, *, now: datetime
) -> Reconciled:
    """Make one office's slots of ``first``..``last`` what its schedule says: the missing ones created,
    the free ones it no longer has (and that have not started) deleted. Booked slots stay as they are."""
    wanted = {
        (s.counter, s.starts_at.astimezone(UTC)): (s.ends_at.astimezone(UTC), s.slot_type.value)
        for day in _days(first, last)
        for s in domain.office_slots(schedule, day)
    }
    start = datetime.combine(first, time.min, domain.OFFICE_TIME_ZONE)
    end = datetime.combine(last + timedelta(days=1), time.min, domain.OFFICE_TIME_ZONE)
    existing = session.execute(
        select(Slot.id, Slot.counter, Slot.starts_at, Slot.slot_type, Slot.is_booked).where(
            Slot.office == schedule.office, Slot.starts_at >= start, Slot.starts_at < end
        )
    ).all()
    missing = dict(wanted)
    unwanted: list[int] = []
    for slot_id, counter, starts_at, slot_type, is_booked in existing:
        key = (counter, _utc(starts_at))
        want = missing.pop(key, None)
        if is_booked:
            continue
        if (want is None or want[1] != slot_type) and _utc(starts_at) > now:
            unwanted.append(slot_id)
            if want is not None:
                missing[key] = want  # the counter serves another slot type now: replaced below
    withdrawn = 0
    for chunk in range(0, len(unwanted), 5000):
        result = session.execute(
            delete(Slot).where(Slot.id.in_(unwanted[chunk : chunk + 5000]), Slot.is_booked.is_(False))
        )
        withdrawn += result.rowcount or 0  # type: ignore[attr-defined]
    rows = [
        {
            "office": schedule.office,
            "counter": counter,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "is_booked": False,
            "slot_type": slot_type,
        }
        for (counter, starts_at), (ends_at, slot_type) in sorted(missing.items())
    ]
    created = 0
    if rows:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(Slot).on_conflict_do_nothing(index_elements=["office", "counter", "starts_at"])
        for chunk in range(0, len(rows), 5000):
            created += len(session.execute(statement.returning(Slot.id), rows[chunk : chunk + 5000]).all())
    return Reconciled(created, withdrawn)


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
