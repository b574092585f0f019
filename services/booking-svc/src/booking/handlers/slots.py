"""Free counter slots: searching an office's calendar, and the earliest ones proposed to an applicant.

The slots themselves are generated from the offices' opening hours (:mod:`booking.slot_horizon`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from mai_chassis import UnitOfWork
from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.orm import Session

from ..deps import BookingDeps
from ..domain import OFFICE_TIME_ZONE, ApplicationStatus
from ..errors import DocumentsNotAccepted, NotFound
from ..tables import Slot
from .queries import own_application

#: How far ahead the earliest free slots are looked for.
BOOKING_WINDOW = timedelta(days=120)


@dataclass(frozen=True)
class SearchSlots:
    """Free slots of ``office`` on the days ``date_from``..``date_to`` (not before now)."""

    office: str
    date_from: date
    date_to: date
    limit: int = 100


@dataclass(frozen=True)
class ProposeSlots:
    application_id: str
    citizen_id: str


_SLOTS = cast(Table, Slot.__table__)

#: Built once, run as Core on the session's connection: searches are the hottest read, and the ORM's
#: statement handling (its compile state, the session's execute) was a third of their cost.
_FREE_SLOTS = (
    select(_SLOTS.c.id, _SLOTS.c.office, _SLOTS.c.counter, _SLOTS.c.starts_at, _SLOTS.c.ends_at, _SLOTS.c.slot_type)
    .where(
        _SLOTS.c.office == bindparam("office"),
        _SLOTS.c.is_booked.is_(False),
        _SLOTS.c.starts_at >= bindparam("start"),
        _SLOTS.c.starts_at < bindparam("end"),
    )
    .order_by(_SLOTS.c.starts_at, _SLOTS.c.counter)
    .limit(bindparam("limit"))
)


def free_slots(session: Session, office: str, start: datetime, end: datetime, limit: int) -> list[Row[Any]]:
    """Free slots as plain rows (no ORM objects, no identity map)."""
    parameters = {"office": office, "start": start, "end": end, "limit": limit}
    return list(session.connection().execute(_FREE_SLOTS, parameters))


def earliest_free_slots(session: Session, office: str, now: datetime, limit: int) -> list[Row[Any]]:
    """The first free slots of ``office`` that start at least a minute from now."""
    return free_slots(session, office, now + timedelta(minutes=1), now + BOOKING_WINDOW, limit)


def search_slots(uow: UnitOfWork, deps: BookingDeps, query: SearchSlots) -> list[Row[Any]]:
    if query.office not in deps.catalog.offices:
        raise NotFound
    start = max(datetime.combine(query.date_from, time.min, OFFICE_TIME_ZONE), uow.clock.now())
    end = datetime.combine(query.date_to + timedelta(days=1), time.min, OFFICE_TIME_ZONE)
    return free_slots(uow.session, query.office, start, end, query.limit)


def propose_slots(uow: UnitOfWork, deps: BookingDeps, query: ProposeSlots) -> list[Row[Any]]:
    """The earliest free slots at the application's office, once its documents are accepted."""
    application = own_application(uow.session, query.application_id, query.citizen_id)
    if application.status != ApplicationStatus.DOCUMENTS_ACCEPTED.value:
        raise DocumentsNotAccepted("Slots are proposed once every document is accepted.")
    return earliest_free_slots(uow.session, application.office, uow.clock.now(), deps.settings.proposed_slot_count)
