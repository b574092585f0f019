"""Free counter slots: searching an office's calendar, and the earliest ones proposed to an applicant.

The slots themselves are generated from the offices' opening hours (:mod:`booking.slot_horizon`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import Row, select
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


def free_slots(session: Session, office: str, start: datetime, end: datetime, limit: int) -> list[Row[Any]]:
    """Free slots as plain rows (no ORM identity map: searches are the hottest read)."""
    return list(
        session.execute(
            select(Slot.id, Slot.office, Slot.counter, Slot.starts_at, Slot.ends_at, Slot.slot_type)
            .where(Slot.office == office, Slot.is_booked.is_(False), Slot.starts_at >= start, Slot.starts_at < end)
            .order_by(Slot.starts_at, Slot.counter)
            .limit(limit)
        )
    )


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
