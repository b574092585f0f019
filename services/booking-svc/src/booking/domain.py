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
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mai_chassis.events import Recipient as Recipient  # re-exported: the handlers take it from here
from mai_chassis.holidays import romanian_public_holidays

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

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


@dataclass(frozen=True)
class Office:
    """An office's reference data (its opening hours, capacity and closures are in its schedule)."""

    code: str
    name: str
    county: str
    city: str
    counters: tuple[str, ...]


class SlotType(enum.StrEnum):
    """What a counter slot is for; each type has its own number of counters at an office."""

    VISIT = "visit"  # the applicant hands in the file's originals and the biometrics are taken


@dataclass(frozen=True)
class Closure:
    """Days an office is closed (both ends included), with the office manager's reason."""

    first_day: date
    last_day: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class OfficeSchedule:
    """What an office's slots are generated from: opening hours, counters per slot type, closures."""

    office: str
    counters: tuple[str, ...]
    opening_hours: Mapping[str, tuple[OpeningInterval, ...]]
    capacity: Mapping[SlotType, int]
    closures: tuple[Closure, ...] = ()
    slot_minutes: int = 20

    def counters_for(self) -> dict[SlotType, tuple[str, ...]]:
        """Each slot type's counters: consecutive counters, in the order of :class:`SlotType`."""
        assigned: dict[SlotType, tuple[str, ...]] = {}
        next_counter = 0
        for slot_type in SlotType:
            count = self.capacity.get(slot_type, 0)
            assigned[slot_type] = self.counters[next_counter : next_counter + count]
            next_counter += count
        return assigned

    def is_closed(self, day: date) -> bool:
        return is_public_holiday(day) or any(closure.covers(day) for closure in self.closures)


def is_public_holiday(day: date) -> bool:
    return day in romanian_public_holidays(day.year)


@dataclass(frozen=True)
class SlotTime:
    counter: str
    starts_at: datetime
    ends_at: datetime
    slot_type: SlotType = SlotType.VISIT


def office_slots(schedule: OfficeSchedule, day: date) -> Iterator[SlotTime]:
    """The counter slots an office offers on ``day``: none on public holidays and its closures; at each
    step of its opening hours one slot per counter of each slot type's capacity."""
    if schedule.is_closed(day):
        return
    length = timedelta(minutes=schedule.slot_minutes)
    counters = schedule.counters_for()
    for interval in schedule.opening_hours.get(WEEKDAYS[day.weekday()], ()):
        start = datetime.combine(day, interval.opens, OFFICE_TIME_ZONE)
        end_of_interval = datetime.combine(day, interval.closes, OFFICE_TIME_ZONE)
        while start + length <= end_of_interval:
            for slot_type, type_counters in counters.items():
                for counter in type_counters:
                    yield SlotTime(counter, start, start + length, slot_type)
            start += length


def parse_opening_hours(raw: Mapping[str, Sequence[str]]) -> dict[str, tuple[OpeningInterval, ...]]:
    """``{"monday": ["08:30-12:30", "13:00-16:00"], ...}`` checked: known weekdays, ``HH:MM-HH:MM``
    intervals that close after they open and do not overlap (a weekday left out is closed)."""
    hours: dict[str, tuple[OpeningInterval, ...]] = {}
    for weekday, intervals in raw.items():
        if weekday not in WEEKDAYS:
            raise errors.InvalidOpeningHours(f"{weekday!r} is not a weekday (monday ... sunday).")
        parsed = []
        for interval in intervals:
            opens_text, _, closes_text = interval.partition("-")
            try:
                opens, closes = time.fromisoformat(opens_text.strip()), time.fromisoformat(closes_text.strip())
            except ValueError:
                raise errors.InvalidOpeningHours(f"{weekday}: {interval!r} is not HH:MM-HH:MM.") from None
            if closes <= opens:
                raise errors.InvalidOpeningHours(f"{weekday}: {interval} closes before it opens.")
            parsed.append(OpeningInterval(opens, closes))
        parsed.sort(key=lambda i: i.opens)
        for before, after in itertools.pairwise(parsed):
            if after.opens < before.closes:
                raise errors.InvalidOpeningHours(f"{weekday}: {before} and {after} overlap.")
        if parsed:
            hours[weekday] = tuple(parsed)
    return hours


def check_capacity(counters: Sequence[str], capacity: Mapping[SlotType, int]) -> None:
    if any(count < 0 for count in capacity.values()):
        raise errors.InvalidCapacity("A number of counters cannot be negative.")
    if sum(capacity.values()) > len(counters):
        raise errors.InvalidCapacity(f"The office has {len(counters)} counters; the slot types ask for more.")


#: The longest closure one request may declare.
LONGEST_CLOSURE = timedelta(days=366)


def check_closure(first_day: date, last_day: date, today: date, reason: str) -> None:
    check_closure_days(first_day, last_day, today)
    if not reason.strip():
        raise errors.InvalidClosure("Say why the office is closed.")


def check_closure_days(first_day: date, last_day: date, today: date) -> None:
    if last_day < first_day:
        raise errors.InvalidClosure("The last day of a closure cannot be before its first day.")
    if first_day < today:
        raise errors.InvalidClosure("A closure cannot start in the past.")
    if last_day - first_day >= LONGEST_CLOSURE:
        raise errors.InvalidClosure("Declare at most 366 days at once.")


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
