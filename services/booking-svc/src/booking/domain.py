"""Rules of immigration applications and counter appointments, free of I/O.

An application moves through these states::

    draft ──submit──> submitted ──review──> documents_accepted ──book──> appointment_booked
                          ^          │                 ^                   │        │
                          │          └─> changes_requested                 │ cancel │ visit
                          └──resubmit──────┘           └───────────────────┘        v
                                                                          ready_for_pickup ──pickup──> closed
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mai_chassis.holidays import orthodox_easter

from . import errors

OFFICE_TIME_ZONE = ZoneInfo("Europe/Bucharest")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ApplicationStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    DOCUMENTS_ACCEPTED = "documents_accepted"
    APPOINTMENT_BOOKED = "appointment_booked"
    READY_FOR_PICKUP = "ready_for_pickup"
    CLOSED = "closed"


class DocumentStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every stored moment is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def office_time(moment: datetime) -> datetime:
    """A stored moment as the offices' wall clock shows it (Europe/Bucharest)."""
    return aware(moment).astimezone(OFFICE_TIME_ZONE)


@dataclass(frozen=True)
class Recipient:
    """Where an applicant's e-mails go."""

    email: str
    name: str
    language: str


@dataclass(frozen=True)
class Officer:
    subject: str
    offices: frozenset[str]  # "*" means every office

    def covers(self, office: str) -> bool:
        return "*" in self.offices or office in self.offices


# --- reference data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: Mapping[str, str]


@dataclass(frozen=True)
class ApplicationType:
    code: str
    name: Mapping[str, str]
    required_documents: tuple[DocumentType, ...]

    @property
    def required_codes(self) -> tuple[str, ...]:
        return tuple(document.code for document in self.required_documents)


@dataclass(frozen=True)
class OpeningInterval:
    opens: time
    closes: time


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    county: str
    city: str
    counters: tuple[str, ...]
    opening_hours: Mapping[str, tuple[OpeningInterval, ...]]
    closed_days: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class HolidayCalendar:
    """Romanian public holidays: fixed dates plus days relative to Orthodox Easter."""

    fixed: frozenset[tuple[int, int]]
    orthodox_easter_offsets: tuple[int, ...]

    def holidays(self, year: int) -> set[date]:
        easter = orthodox_easter(year)
        days = {date(year, month, day) for month, day in self.fixed}
        days.update(easter + timedelta(days=offset) for offset in self.orthodox_easter_offsets)
        return days

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays(day.year)


@dataclass(frozen=True)
class SlotTime:
    counter: str
    starts_at: datetime
    ends_at: datetime


def office_slots(office: Office, day: date, *, calendar: HolidayCalendar, slot_minutes: int) -> Iterator[SlotTime]:
    """The counter slots an office offers on ``day`` (none on holidays and its closed days)."""
    if calendar.is_holiday(day) or day in office.closed_days:
        return
    length = timedelta(minutes=slot_minutes)
    for interval in office.opening_hours.get(WEEKDAYS[day.weekday()], ()):
        start = datetime.combine(day, interval.opens, OFFICE_TIME_ZONE)
        end_of_interval = datetime.combine(day, interval.closes, OFFICE_TIME_ZONE)
        while start + length <= end_of_interval:
            for counter in office.counters:
                yield SlotTime(counter, start, start + length)
            start += length


# --- applications ----------------------------------------------------------------------------------


def missing_documents(application_type: ApplicationType, present: Iterable[str]) -> list[str]:
    have = set(present)
    return [code for code in application_type.required_codes if code not in have]


def check_document_can_be_uploaded(
    status: ApplicationStatus, application_type: ApplicationType, document_type: str, current: DocumentStatus | None
) -> None:
    if document_type not in application_type.required_codes:
        raise errors.UnknownDocumentType(f"{document_type} is not a document of {application_type.code} applications.")
    if status is ApplicationStatus.DRAFT:
        return
    if status is ApplicationStatus.CHANGES_REQUESTED and current is DocumentStatus.REJECTED:
        return
    if status is ApplicationStatus.CHANGES_REQUESTED:
        raise errors.DocumentNotRejected("Only documents the officer rejected can be replaced now.")
    raise errors.ApplicationNotEditable(f"Documents cannot be changed while the application is {status.value}.")


def check_can_submit(
    status: ApplicationStatus, application_type: ApplicationType, documents: Mapping[str, DocumentStatus]
) -> None:
    if status not in (ApplicationStatus.DRAFT, ApplicationStatus.CHANGES_REQUESTED):
        raise errors.NotSubmittable(f"An application that is {status.value} cannot be submitted.")
    missing = missing_documents(application_type, documents)
    if missing:
        raise errors.DocumentsMissing("Upload every required document first: " + ", ".join(missing))
    still_rejected = [code for code, state in documents.items() if state is DocumentStatus.REJECTED]
    if still_rejected:
        raise errors.DocumentsStillRejected(
            "Replace the rejected documents first: " + ", ".join(sorted(still_rejected))
        )


@dataclass(frozen=True)
class DocumentDecision:
    document_type: str
    accepted: bool
    feedback: str | None = None


def review_outcome(
    status: ApplicationStatus, documents: Mapping[str, DocumentStatus], decisions: Sequence[DocumentDecision]
) -> ApplicationStatus:
    """The status after an officer's decisions on every document awaiting review."""
    if status is not ApplicationStatus.SUBMITTED:
        raise errors.NotUnderReview(f"An application that is {status.value} is not under review.")
    decided = [d.document_type for d in decisions]
    if len(decided) != len(set(decided)):
        raise errors.DuplicateDecision("Decide on each document once.")
    awaiting = {code for code, state in documents.items() if state is DocumentStatus.UPLOADED}
    unknown = set(decided) - awaiting
    if unknown:
        raise errors.DocumentNotAwaitingReview("Not awaiting review: " + ", ".join(sorted(unknown)))
    undecided = awaiting - set(decided)
    if undecided:
        raise errors.DecisionMissing("Decide on every document: " + ", ".join(sorted(undecided)))
    for decision in decisions:
        if not decision.accepted and not (decision.feedback or "").strip():
            raise errors.FeedbackRequired(f"Say why {decision.document_type} is rejected, so that it can be fixed.")
    if all(d.accepted for d in decisions):
        return ApplicationStatus.DOCUMENTS_ACCEPTED
    return ApplicationStatus.CHANGES_REQUESTED


def check_can_book(status: ApplicationStatus) -> None:
    if status is ApplicationStatus.APPOINTMENT_BOOKED:
        raise errors.AppointmentExists("This application already has an appointment; reschedule or cancel it instead.")
    if status is not ApplicationStatus.DOCUMENTS_ACCEPTED:
        raise errors.DocumentsNotAccepted("A slot can be booked once every document has been accepted.")


def check_slot_bookable(slot_starts_at: datetime, now: datetime) -> None:
    if slot_starts_at <= now:
        raise errors.SlotInThePast("This slot has already started.")


def check_can_change_appointment(status: AppointmentStatus, starts_at: datetime, now: datetime) -> None:
    if status is not AppointmentStatus.BOOKED:
        raise errors.AppointmentNotActive(f"This appointment is {status.value}.")
    if starts_at <= now:
        raise errors.AppointmentStarted("An appointment that has started cannot be changed.")


def check_can_record_visit(
    status: ApplicationStatus, pickup_from: date, biometrics_taken_at: datetime, now: datetime
) -> None:
    if biometrics_taken_at > now:
        raise errors.BiometricsInTheFuture("Biometrics cannot be recorded before they are taken.")
    visit_day = biometrics_taken_at.astimezone(OFFICE_TIME_ZONE).date()
    if status is not ApplicationStatus.APPOINTMENT_BOOKED:
        raise errors.NoAppointment(f"An application that is {status.value} has no visit to record.")
    if pickup_from < visit_day:
        raise errors.PickupBeforeVisit("The pickup date cannot be before the visit.")


def check_can_record_pickup(status: ApplicationStatus, pickup_from: date | None, today: date) -> None:
    if status is not ApplicationStatus.READY_FOR_PICKUP:
        raise errors.NotReadyForPickup(f"An application that is {status.value} is not ready for pickup.")
    if pickup_from is not None and today < pickup_from:
        raise errors.PickupTooEarly(f"The document can be picked up from {pickup_from.isoformat()}.")
