"""Counter appointments: booking a slot, cancelling, rescheduling, the e-mailed link, the day's schedule.

Why a slot is never booked twice: the applicant's application row is locked first, then the slot
is flipped with ``UPDATE ... WHERE NOT is_booked`` (concurrent claimants queue on the row lock and
all but the first find it booked); the partial unique indexes on ``appointments`` are the
database's last word.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from mai_chassis import SqlUnitOfWork, UnitOfWork
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import domain
from ..appointment_links import InvalidLinkError
from ..deps import BookingDeps
from ..domain import OFFICE_TIME_ZONE, ApplicationStatus, AppointmentStatus, Officer, aware, office_time
from ..errors import InvalidLink, NotFound, SlotAtAnotherOffice, SlotTaken
from ..events import AppointmentBooked, AppointmentCancelled
from ..metrics import count_booking_outcome
from ..tables import Application, Appointment, Slot
from .queries import checked_uuid, note, own_application, own_appointment, recipient_of
from .slots import earliest_free_slots

#: How many of the earliest free slots booking "the earliest" tries before giving up (lost races).
EARLIEST_CANDIDATES = 5


@dataclass(frozen=True)
class BookAppointment:
    """Book ``slot_id``, or with None the earliest free slot of the application's office."""

    application_id: str
    citizen_id: str
    slot_id: int | None = None


@dataclass(frozen=True)
class CancelAppointment:
    """As its applicant, or with ``citizen_id`` None as the holder of its signed link."""

    appointment_id: str
    citizen_id: str | None


@dataclass(frozen=True)
class RescheduleAppointment:
    """Move to ``slot_id``; ``citizen_id`` None: as the holder of the appointment's signed link."""

    appointment_id: str
    citizen_id: str | None
    slot_id: int


@dataclass(frozen=True)
class ShowAppointment:
    appointment_id: str
    citizen_id: str


@dataclass(frozen=True)
class OpenLink:
    """The appointment an e-mailed link names; ``changeable``: refuse one that can no longer change."""

    link_token: str
    changeable: bool = False


@dataclass(frozen=True)
class LinkedAppointment:
    """What a link opens: the appointment (to show), and who and where it is for (to act on)."""

    appointment: Appointment
    appointment_id: str
    citizen_id: str
    office: str
    application_type: str


@dataclass(frozen=True)
class DaySchedule:
    """An office's appointments of one day, for an officer of that office."""

    office: str
    day: date
    officer: Officer


# --- booking and releasing a slot -------------------------------------------------------------------------


def _claim_slot(session: Session, slot_id: int) -> bool:
    """Flip the slot to booked only if it is free: concurrent claimants queue on the row lock and
    all but the first find it booked when their turn comes (READ COMMITTED re-checks the WHERE)."""
    result = session.execute(update(Slot).where(Slot.id == slot_id, Slot.is_booked.is_(False)).values(is_booked=True))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


_SlotLike = TypeVar("_SlotLike")


def _bookable(application: Application, slot: _SlotLike | None, now: datetime) -> _SlotLike:
    """``slot`` (a Slot or a row of one), once found to exist, be at the application's office and
    still be bookable."""
    if slot is None:
        raise NotFound
    found: Any = slot
    if found.office != application.office:
        raise SlotAtAnotherOffice(f"Book a slot at {application.office}, the office handling this application.")
    domain.check_slot_bookable(aware(found.starts_at), now)
    return slot


def _new_appointment(application: Application, slot: Any, now: datetime, rescheduled_from: str | None) -> Appointment:
    """The booked appointment of ``application`` in ``slot`` (a Slot or a row of one)."""
    return Appointment(
        id=str(uuid.uuid4()),
        application_id=application.id,
        citizen_id=application.citizen_id,
        slot_id=slot.id,
        office=slot.office,
        counter=slot.counter,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        status=AppointmentStatus.BOOKED.value,
        booked_at=now,
        rescheduled_from=rescheduled_from,
    )


def take_slot(
    uow: UnitOfWork, application: Application, slot_id: int, now: datetime, rescheduled_from: str | None
) -> Appointment:
    """Claim a free slot of the application's office for it: the appointment, its status and timeline."""
    session = uow.session
    slot = _bookable(application, session.get(Slot, slot_id), now)
    if not _claim_slot(session, slot.id):
        raise SlotTaken
    appointment = _new_appointment(application, slot, now, rescheduled_from)
    session.add(appointment)
    try:
        session.flush()
    except IntegrityError:  # the partial unique indexes: the database's last word on double booking
        raise SlotTaken from None
    application.status = ApplicationStatus.APPOINTMENT_BOOKED.value
    note(session, application, ApplicationStatus.APPOINTMENT_BOOKED.value, now, office_time(slot.starts_at).isoformat())
    return appointment


def _book_slot(
    uow: UnitOfWork,
    deps: BookingDeps,
    application: Application,
    slot_id: int,
    now: datetime,
    rescheduled_from: str | None,
) -> Appointment:
    appointment = take_slot(uow, application, slot_id, now, rescheduled_from)
    _announce_booking(uow, deps, application, appointment, now)
    return appointment


def _announce_booking(
    uow: UnitOfWork, deps: BookingDeps, application: Application, appointment: Appointment, now: datetime
) -> None:
    rescheduled_from = appointment.rescheduled_from
    uow.publish(
        AppointmentBooked(
            appointment_id=appointment.id,
            application_id=application.id,
            citizen_id=application.citizen_id,
            application_type=application.application_type,
            office=appointment.office,
            counter=appointment.counter,
            starts_at=office_time(appointment.starts_at),
            ends_at=office_time(appointment.ends_at),
            booked_at=now,
            recipient=recipient_of(application),
            rescheduled_from=rescheduled_from,
            sealed_manage_link=sealed_manage_link(deps, appointment),
        )
    )


def sealed_manage_link(deps: BookingDeps, appointment: Appointment) -> str | None:
    """The appointment's manage link sealed for notify-svc (None without a sealing key)."""
    links = deps.links
    return links.sealer.seal(links.manage_url(appointment)) if links.sealer is not None else None


def release_slot(
    uow: UnitOfWork, appointment: Appointment, application: Application, now: datetime, *, by: str, reason: str
) -> None:
    """Cancel an appointment that has not started (``by`` the applicant or the office); its slot is free."""
    session = uow.session
    domain.check_can_change_appointment(AppointmentStatus(appointment.status), aware(appointment.starts_at), now)
    appointment.status = AppointmentStatus.CANCELLED.value
    appointment.cancelled_at, appointment.cancelled_by, appointment.cancel_reason = now, by, reason
    session.execute(update(Slot).where(Slot.id == appointment.slot_id).values(is_booked=False))
    session.flush()
    application.status = ApplicationStatus.DOCUMENTS_ACCEPTED.value
    note(session, application, "appointment_cancelled", now, office_time(appointment.starts_at).isoformat())


def _release(uow: UnitOfWork, appointment: Appointment, application: Application, reason: str, now: datetime) -> None:
    release_slot(uow, appointment, application, now, by="applicant", reason=reason)
    publish_cancellation(uow, appointment, application, now)


def publish_cancellation(uow: UnitOfWork, appointment: Appointment, application: Application, now: datetime) -> None:
    uow.publish(
        AppointmentCancelled(
            appointment_id=appointment.id,
            application_id=application.id,
            citizen_id=application.citizen_id,
            office=appointment.office,
            starts_at=office_time(appointment.starts_at),
            cancelled_by=appointment.cancelled_by or "applicant",
            reason=appointment.cancel_reason or "other",
            cancelled_at=now,
            recipient=recipient_of(application),
        )
    )


def _locked_pair(session: Session, appointment_id: str, citizen_id: str | None) -> tuple[Appointment, Application]:
    # Lock the application first (the order every handler uses), then the appointment.
    peek = own_appointment(session, appointment_id, citizen_id)
    application = session.get(Application, peek.application_id, with_for_update=True)
    assert application is not None
    session.refresh(peek, with_for_update=True)
    return peek, application


# --- handlers ------------------------------------------------------------------------------------------


def book_appointment(uow: UnitOfWork, deps: BookingDeps, command: BookAppointment) -> Appointment:
    session = uow.session
    if command.slot_id is not None and isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql:
        application = _locked_application(uow, command.application_id, command.citizen_id)
    else:
        application = own_application(session, command.application_id, command.citizen_id, lock=True)
    domain.check_can_book(ApplicationStatus(application.status))
    now = uow.clock.now()
    with count_booking_outcome(deps.settings.service_name):
        if command.slot_id is None:
            appointment = None
            for candidate in earliest_free_slots(session, application.office, now, EARLIEST_CANDIDATES):
                try:
                    with session.begin_nested():  # a lost race on one candidate moves on to the next
                        appointment = _book_slot(uow, deps, application, candidate.id, now, None)
                except SlotTaken:
                    continue
                break
            if appointment is None:
                raise SlotTaken
        elif isinstance(uow, SqlUnitOfWork) and uow.database.is_postgresql:
            return _book_slot_in_one_statement(uow, deps, application, command.slot_id, now)
        else:
            appointment = _book_slot(uow, deps, application, command.slot_id, now, None)
        uow.commit()
    return appointment


_APPLICATIONS = cast(Table, Application.__table__)
_APPLICATION_TO_BOOK = select(_APPLICATIONS).where(_APPLICATIONS.c.id == bindparam("id")).with_for_update()
_SLOTS = cast(Table, Slot.__table__)
_SLOT_TO_BOOK = select(_SLOTS.c.id, _SLOTS.c.office, _SLOTS.c.counter, _SLOTS.c.starts_at, _SLOTS.c.ends_at).where(
    _SLOTS.c.id == bindparam("slot_id")
)

#: What :func:`take_slot` and the commit write, as one statement sent with the ``COMMIT``: the slot is
#: claimed (``WHERE NOT is_booked``: claimants queue on its row lock and all but the first find it
#: booked), and only if it was, the appointment, the application's status, its timeline entry and
#: the event are written. An active appointment already on the slot or for the application fails
#: the statement on the partial unique indexes, with nothing written.
_BOOK_SLOT = """
WITH claimed AS (
    UPDATE slots SET is_booked = true WHERE id = %(slot_id)s AND NOT is_booked RETURNING id
), appointment AS (
    INSERT INTO appointments
        (id, application_id, citizen_id, slot_id, office, counter, starts_at, ends_at, status, booked_at)
    SELECT %(appointment_id)s, %(application_id)s, %(citizen_id)s, claimed.id, %(office)s, %(counter)s,
           %(starts_at)s, %(ends_at)s, %(appointment_status)s, %(now)s
    FROM claimed
    RETURNING id
), application AS (
    UPDATE applications SET status = %(application_status)s
    WHERE id = %(application_id)s AND EXISTS (SELECT FROM claimed)
), timeline AS (
    INSERT INTO application_timeline (application_id, status, occurred_at, note)
    SELECT %(application_id)s, %(application_status)s, %(now)s, %(note)s FROM claimed
), outbox AS (
    INSERT INTO outbox_events (event_id, event_type, topic, key, payload)
    SELECT %(event_id)s, %(event_type)s, %(topic)s, %(key)s, %(payload)s FROM claimed
)
SELECT id FROM appointment
"""


def _locked_application(uow: SqlUnitOfWork, application_id: str, citizen_id: str) -> Application:
    """:func:`own_application` with ``lock``, read as a row (the same ``SELECT ... FOR UPDATE``) into
    an application outside the session: :func:`_book_slot_in_one_statement` writes without the ORM."""
    row = uow.session.connection().execute(_APPLICATION_TO_BOOK, {"id": checked_uuid(application_id)}).first()
    if row is None or row.citizen_id != citizen_id:
        raise NotFound
    return Application(**row._mapping)


def _book_slot_in_one_statement(
    uow: SqlUnitOfWork, deps: BookingDeps, application: Application, slot_id: int, now: datetime
) -> Appointment:
    """:func:`_book_slot` and the commit on PostgreSQL: the slot read as a row, the checks made, the
    event prepared, then one statement writes everything and commits in the same round trip."""
    slot = _bookable(application, uow.session.connection().execute(_SLOT_TO_BOOK, {"slot_id": slot_id}).first(), now)
    appointment = _new_appointment(application, slot, now, None)  # not added to the session: the statement writes it
    _announce_booking(uow, deps, application, appointment, now)
    (event,) = uow.take_outbox()
    parameters = {
        "slot_id": slot.id,
        "appointment_id": appointment.id,
        "application_id": application.id,
        "citizen_id": application.citizen_id,
        "office": slot.office,
        "counter": slot.counter,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "appointment_status": AppointmentStatus.BOOKED.value,
        "application_status": ApplicationStatus.APPOINTMENT_BOOKED.value,
        "now": now,
        "note": office_time(slot.starts_at).isoformat(),
        **{name: event[name] for name in ("event_id", "event_type", "topic", "key", "payload")},
    }
    try:
        booked = uow.commit_with(_BOOK_SLOT, parameters)
    except IntegrityError:  # the partial unique indexes: the database's last word on double booking
        raise SlotTaken from None
    if booked is None:  # another claimant had it: nothing was written
        raise SlotTaken
    return appointment


def cancel_appointment(uow: UnitOfWork, deps: BookingDeps, command: CancelAppointment) -> Appointment:
    appointment, application = _locked_pair(uow.session, command.appointment_id, command.citizen_id)
    _release(uow, appointment, application, "applicant_request", uow.clock.now())
    uow.commit()
    return appointment


def reschedule_appointment(uow: UnitOfWork, deps: BookingDeps, command: RescheduleAppointment) -> Appointment:
    """Move to another slot: the old one is freed only if the new one is won, in one transaction."""
    appointment, application = _locked_pair(uow.session, command.appointment_id, command.citizen_id)
    now = uow.clock.now()
    with count_booking_outcome(deps.settings.service_name, booked=False):
        _release(uow, appointment, application, "rescheduled", now)
        replacement = _book_slot(uow, deps, application, command.slot_id, now, rescheduled_from=appointment.id)
        uow.commit()
    return replacement


# --- queries (nothing to commit) ------------------------------------------------------------------------


def show_appointment(uow: UnitOfWork, deps: BookingDeps, query: ShowAppointment) -> Appointment:
    return own_appointment(uow.session, query.appointment_id, query.citizen_id)


def open_link(uow: UnitOfWork, deps: BookingDeps, query: OpenLink) -> LinkedAppointment:
    """The appointment a signed link (from the confirmation e-mail) names, valid until it starts."""
    now = uow.clock.now()
    try:
        appointment_id = deps.links.signer.verify(query.link_token, now=now)
    except InvalidLinkError:
        raise InvalidLink from None
    appointment = own_appointment(uow.session, appointment_id, None)
    if query.changeable:
        domain.check_can_change_appointment(AppointmentStatus(appointment.status), aware(appointment.starts_at), now)
    application = uow.session.get(Application, appointment.application_id)
    assert application is not None
    return LinkedAppointment(
        appointment, appointment.id, appointment.citizen_id, appointment.office, application.application_type
    )


def day_schedule(uow: UnitOfWork, deps: BookingDeps, query: DaySchedule) -> list[Appointment]:
    """The day's appointments at the office's counters (not the cancelled ones)."""
    if query.office not in deps.catalog.offices or not query.officer.covers(query.office):
        raise NotFound
    start = datetime.combine(query.day, time.min, OFFICE_TIME_ZONE)
    return list(
        uow.session.scalars(
            select(Appointment)
            .where(
                Appointment.office == query.office,
                Appointment.status != AppointmentStatus.CANCELLED.value,
                Appointment.starts_at >= start,
                Appointment.starts_at < start + timedelta(days=1),
            )
            .order_by(Appointment.starts_at, Appointment.counter)
        )
    )
