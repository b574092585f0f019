"""Office managers: an office's opening hours, counters per slot type and closures, and what they do
to its slots and appointments.

A change of hours or capacity reconciles the office's slots at once (the horizon of
``settings.slot_weeks``): the missing ones are created, the free ones the schedule no longer has
are withdrawn; booked slots stay. A closure withdraws the free slots of its days and moves each
appointment booked on them to the nearest later free slot of the same type at the same office
(``appointment.moved``), or cancels it when there is none (``appointment.cancelled`` by the office,
reason ``office_closed``); each applicant is mailed by notify-svc.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from mai_chassis import UnitOfWork
from mai_chassis.holidays import romanian_public_holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import domain
from ..deps import BookingDeps
from ..domain import OFFICE_TIME_ZONE, WEEKDAYS, AppointmentStatus, Office, Officer, OfficeSchedule, SlotType
from ..errors import InvalidCapacity, NotFound, SlotTaken
from ..events import AppointmentMoved
from ..slot_horizon import horizon_days, load_schedules, lock_generation, reconcile_slots
from ..tables import Application, Appointment, OfficeClosure, OpeningHours, Slot, SlotCapacity
from ..tables import OfficeSchedule as OfficeScheduleRow
from .appointments import publish_cancellation, release_slot, sealed_manage_link, take_slot
from .queries import recipient_of
from .slots import BOOKING_WINDOW


@dataclass(frozen=True)
class ShowSchedule:
    office: str
    manager: Officer


@dataclass(frozen=True)
class SetOpeningHours:
    """Replace the office's weekly hours: ``{"monday": ["08:30-12:30", ...], ...}``; a day left out is closed."""

    office: str
    manager: Officer
    opening_hours: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class SetCapacity:
    """How many counters serve each slot type (a type left out keeps its number)."""

    office: str
    manager: Officer
    capacity: Mapping[str, int]


@dataclass(frozen=True)
class CloseOffice:
    office: str
    manager: Officer
    first_day: date
    last_day: date
    reason: str


@dataclass(frozen=True)
class PreviewClosure:
    """What a closure of ``first_day``..``last_day`` would do now, without doing it."""

    office: str
    manager: Officer
    first_day: date
    last_day: date


@dataclass(frozen=True)
class ListClosures:
    """The office's closures that are not over yet, earliest first."""

    office: str
    manager: Officer


@dataclass(frozen=True)
class ShowOffices:
    """Offices as the public sees them (all with ``codes`` None)."""

    codes: Sequence[str] | None = None


@dataclass(frozen=True)
class OfficeView:
    """An office with its schedule (None: none seeded yet) and its public holidays ahead."""

    office: Office
    schedule: OfficeSchedule | None
    closures: list[OfficeClosure] = field(default_factory=list)
    public_holidays: list[date] = field(default_factory=list)
    slots_created: int = 0
    slots_withdrawn: int = 0

    @property
    def closed_days(self) -> list[date]:
        days: list[date] = []
        for closure in self.schedule.closures if self.schedule else ():
            day = closure.first_day
            while day <= closure.last_day:
                days.append(day)
                day += timedelta(days=1)
        return sorted(set(days))


@dataclass(frozen=True)
class MovedAppointment:
    previous: Appointment
    appointment: Appointment


@dataclass(frozen=True)
class ClosureEffect:
    """An appointment booked on a closed day and where it would go (None: it would be cancelled)."""

    appointment: Appointment
    moves_to: Slot | None


@dataclass(frozen=True)
class ClosurePreview:
    first_day: date
    last_day: date
    effects: list[ClosureEffect]

    @property
    def moved(self) -> int:
        return sum(1 for e in self.effects if e.moves_to is not None)

    @property
    def cancelled(self) -> int:
        return sum(1 for e in self.effects if e.moves_to is None)


@dataclass(frozen=True)
class ClosureOutcome:
    closure: OfficeClosure
    moved: list[MovedAppointment]
    cancelled: list[Appointment]


# --- reads ----------------------------------------------------------------------------------------------


def _managed_office(deps: BookingDeps, code: str, manager: Officer) -> Office:
    office = deps.catalog.offices.get(code)
    if office is None or not manager.covers(code):
        raise NotFound
    return office


def _upcoming_closures(session: Session, office: str, today: date) -> list[OfficeClosure]:
    return list(
        session.scalars(
            select(OfficeClosure)
            .where(OfficeClosure.office == office, OfficeClosure.last_day >= today)
            .order_by(OfficeClosure.first_day, OfficeClosure.created_at)
        )
    )


def _view(uow: UnitOfWork, deps: BookingDeps, office: Office, *, created: int = 0, withdrawn: int = 0) -> OfficeView:
    today = uow.clock.today()
    first, last = horizon_days(today, deps.settings.slot_weeks)
    schedule = load_schedules(uow.session, deps.catalog, [office.code], from_day=today).get(office.code)
    holidays = sorted(
        day
        for year in range(first.year, last.year + 1)
        for day in romanian_public_holidays(year)
        if first <= day <= last
    )
    return OfficeView(
        office, schedule, _upcoming_closures(uow.session, office.code, today), holidays, created, withdrawn
    )


def show_schedule(uow: UnitOfWork, deps: BookingDeps, query: ShowSchedule) -> OfficeView:
    return _view(uow, deps, _managed_office(deps, query.office, query.manager))


def list_closures(uow: UnitOfWork, deps: BookingDeps, query: ListClosures) -> list[OfficeClosure]:
    office = _managed_office(deps, query.office, query.manager)
    return _upcoming_closures(uow.session, office.code, uow.clock.today())


def show_offices(uow: UnitOfWork, deps: BookingDeps, query: ShowOffices) -> list[OfficeView]:
    codes = list(deps.catalog.offices) if query.codes is None else [c for c in query.codes if c in deps.catalog.offices]
    if query.codes is not None and not codes:
        raise NotFound
    schedules = load_schedules(uow.session, deps.catalog, codes, from_day=uow.clock.today())
    return [OfficeView(deps.catalog.offices[code], schedules.get(code)) for code in codes]


# --- changes --------------------------------------------------------------------------------------------


def _schedule_row(session: Session, office: str, manager: Officer, now: datetime) -> OfficeScheduleRow:
    row = session.get(OfficeScheduleRow, office, with_for_update=True)
    if row is None:
        raise NotFound("This office has no schedule yet.")
    row.updated_at, row.updated_by = now, manager.subject
    return row


def _reconcile(uow: UnitOfWork, deps: BookingDeps, office: Office) -> tuple[int, int]:
    session = uow.session
    session.flush()
    lock_generation(session)
    today = uow.clock.today()
    schedule = load_schedules(session, deps.catalog, [office.code], from_day=today)[office.code]
    first, last = horizon_days(today, deps.settings.slot_weeks)
    result = reconcile_slots(session, schedule, first, last, now=uow.clock.now())
    return result.created, result.withdrawn


def set_opening_hours(uow: UnitOfWork, deps: BookingDeps, command: SetOpeningHours) -> OfficeView:
    office = _managed_office(deps, command.office, command.manager)
    hours = domain.parse_opening_hours(command.opening_hours)
    session = uow.session
    _schedule_row(session, office.code, command.manager, uow.clock.now())
    session.execute(delete(OpeningHours).where(OpeningHours.office == office.code))
    session.add_all(
        OpeningHours(office=office.code, weekday=WEEKDAYS.index(day), opens=i.opens, closes=i.closes)
        for day, intervals in hours.items()
        for i in intervals
    )
    created, withdrawn = _reconcile(uow, deps, office)
    view = _view(uow, deps, office, created=created, withdrawn=withdrawn)
    uow.commit()
    return view


def set_capacity(uow: UnitOfWork, deps: BookingDeps, command: SetCapacity) -> OfficeView:
    office = _managed_office(deps, command.office, command.manager)
    unknown = sorted(set(command.capacity) - {t.value for t in SlotType})
    if unknown:
        raise InvalidCapacity(
            f"Unknown slot type: {', '.join(unknown)} (known: {', '.join(t.value for t in SlotType)})."
        )
    session = uow.session
    _schedule_row(session, office.code, command.manager, uow.clock.now())
    current = {
        SlotType(c.slot_type): c.counters
        for c in session.scalars(select(SlotCapacity).where(SlotCapacity.office == office.code))
        if c.slot_type in {t.value for t in SlotType}
    }
    wanted = {**current, **{SlotType(code): count for code, count in command.capacity.items()}}
    domain.check_capacity(office.counters, wanted)
    session.execute(delete(SlotCapacity).where(SlotCapacity.office == office.code))
    session.add_all(
        SlotCapacity(office=office.code, slot_type=slot_type.value, counters=count)
        for slot_type, count in wanted.items()
    )
    created, withdrawn = _reconcile(uow, deps, office)
    view = _view(uow, deps, office, created=created, withdrawn=withdrawn)
    uow.commit()
    return view


def close_office(uow: UnitOfWork, deps: BookingDeps, command: CloseOffice) -> ClosureOutcome:
    """Close the office on ``first_day``..``last_day``: its free slots of those days are withdrawn, and
    every appointment booked on them (that has not started) is moved or cancelled, in one transaction."""
    office = _managed_office(deps, command.office, command.manager)
    now, today = uow.clock.now(), uow.clock.today()
    domain.check_closure(command.first_day, command.last_day, today, command.reason)
    session = uow.session
    _schedule_row(session, office.code, command.manager, now)
    lock_generation(session)  # the hourly generation must not recreate the slots being withdrawn
    closure = OfficeClosure(
        id=str(uuid.uuid4()),
        office=office.code,
        first_day=command.first_day,
        last_day=command.last_day,
        reason=command.reason.strip(),
        created_at=now,
        created_by=command.manager.subject,
        moved=0,
        cancelled=0,
    )
    session.add(closure)
    start, end = _closed_span(command.first_day, command.last_day)

    def withdraw_free_slots() -> None:
        session.execute(
            delete(Slot).where(
                Slot.office == office.code, Slot.starts_at >= start, Slot.starts_at < end, Slot.is_booked.is_(False)
            ),
            execution_options={"synchronize_session": "fetch"},
        )

    # Free slots first: a booking of one of them in flight finishes before (its row is locked), and
    # the appointment it made is then among those read below and moved with the others.
    withdraw_free_slots()
    affected = _booked_between(session, office.code, max(start, now), end)
    moved: list[MovedAppointment] = []
    cancelled: list[Appointment] = []
    for appointment in affected:
        application = session.get(Application, appointment.application_id, with_for_update=True)
        assert application is not None
        session.refresh(appointment, with_for_update=True)
        if appointment.status != AppointmentStatus.BOOKED.value:
            continue  # its applicant cancelled or moved it meanwhile
        slot_type = _slot_type_of(session, appointment)
        release_slot(uow, appointment, application, now, by="office", reason="office_closed")
        replacement = _move(uow, application, appointment, slot_type, after=end, now=now)
        if replacement is None:
            publish_cancellation(uow, appointment, application, now)
            cancelled.append(appointment)
            continue
        uow.publish(
            AppointmentMoved(
                appointment_id=replacement.id,
                previous_appointment_id=appointment.id,
                application_id=application.id,
                citizen_id=application.citizen_id,
                application_type=application.application_type,
                office=replacement.office,
                counter=replacement.counter,
                previous_starts_at=domain.office_time(appointment.starts_at),
                starts_at=domain.office_time(replacement.starts_at),
                ends_at=domain.office_time(replacement.ends_at),
                reason="office_closed",
                moved_at=now,
                recipient=recipient_of(application),
                sealed_manage_link=sealed_manage_link(deps, replacement),
            )
        )
        moved.append(MovedAppointment(appointment, replacement))
    withdraw_free_slots()  # those just released
    closure.moved, closure.cancelled = len(moved), len(cancelled)
    session.flush()
    outcome = ClosureOutcome(closure, moved, cancelled)
    uow.commit()
    return outcome


def _closed_span(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """From the first day's midnight to the midnight after the last day, at the office."""
    start = datetime.combine(first_day, time.min, OFFICE_TIME_ZONE)
    return start, datetime.combine(last_day + timedelta(days=1), time.min, OFFICE_TIME_ZONE)


def _booked_between(session: Session, office: str, start: datetime, end: datetime) -> list[Appointment]:
    """The office's booked appointments starting in [start, end), in the order a closure moves them."""
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.office == office,
                Appointment.status == AppointmentStatus.BOOKED.value,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.counter)
        )
    )


def preview_closure(uow: UnitOfWork, deps: BookingDeps, query: PreviewClosure) -> ClosurePreview:
    """The appointments a closure would move or cancel if it were declared now, and where each would
    go: the same order and the same nearest later free slot of its type as :func:`close_office`
    (an applicant may still book or cancel meanwhile: the closure's outcome is what counts)."""
    office = _managed_office(deps, query.office, query.manager)
    now = uow.clock.now()
    domain.check_closure_days(query.first_day, query.last_day, uow.clock.today())
    session = uow.session
    start, end = _closed_span(query.first_day, query.last_day)
    affected = _booked_between(session, office.code, max(start, now), end)
    free: dict[str, list[Slot]] = {}
    effects: list[ClosureEffect] = []
    for appointment in affected:
        slot_type = _slot_type_of(session, appointment)
        if slot_type not in free:
            free[slot_type] = list(
                session.scalars(
                    select(Slot)
                    .where(
                        Slot.office == office.code,
                        Slot.slot_type == slot_type,
                        Slot.is_booked.is_(False),
                        Slot.starts_at >= end,
                        Slot.starts_at < now + BOOKING_WINDOW,
                    )
                    .order_by(Slot.starts_at, Slot.counter)
                    .limit(len(affected))
                )
            )
        candidates = free[slot_type]
        effects.append(ClosureEffect(appointment, candidates.pop(0) if candidates else None))
    return ClosurePreview(query.first_day, query.last_day, effects)


def _slot_type_of(session: Session, appointment: Appointment) -> str:
    slot_type = (
        session.scalar(select(Slot.slot_type).where(Slot.id == appointment.slot_id))
        if appointment.slot_id is not None
        else None
    )
    return slot_type or SlotType.VISIT.value


#: How many of the nearest free slots a move tries before cancelling (lost races to applicants).
MOVE_CANDIDATES = 5


def _move(
    uow: UnitOfWork,
    application: Application,
    appointment: Appointment,
    slot_type: str,
    *,
    after: datetime,
    now: datetime,
) -> Appointment | None:
    """The appointment on the nearest free slot of ``slot_type`` at the office from ``after`` (None: none)."""
    session = uow.session
    candidates = session.scalars(
        select(Slot.id)
        .where(
            Slot.office == appointment.office,
            Slot.slot_type == slot_type,
            Slot.is_booked.is_(False),
            Slot.starts_at >= after,
            Slot.starts_at < now + BOOKING_WINDOW,
        )
        .order_by(Slot.starts_at, Slot.counter)
        .limit(MOVE_CANDIDATES)
    ).all()
    for slot_id in candidates:
        try:
            with session.begin_nested():  # an applicant who took this slot first: try the next one
                return take_slot(uow, application, slot_id, now, rescheduled_from=appointment.id)
        except SlotTaken:
            continue
    return None
