"""Petition rules: registration numbers, legal deadlines, the life of a petition, attachment types.

No I/O here. Deadlines follow OG 27/2002 and the calendar rules below:

- A deadline is counted in calendar days from the registration date in Romania
  (Europe/Bucharest), the registration day itself not counted (a petition registered on 14 March
  has its answer due on 13 April).
- A deadline that falls on a non-working day — a Saturday, a Sunday or a Romanian public holiday
  (Labour Code art. 139, Orthodox Easter and Pentecost included) — moves to the next working day,
  as procedural time limits do.
- Answer: 30 days (art. 8); forwarding to the competent institution: 5 days (art. 6(2));
  the answer deadline can be extended once, by at most 15 days, with a reason (art. 9).
  A forwarded petition keeps its registration number; the competent institution's 30 days run
  from the day it received it. A forward after its 5 days is flagged late on the file for good,
  and keeps the open petition in the overdue queue.
- The assigned clerk is reminded of the answer deadline a set number of working days before it
  (working days: neither weekends nor public holidays).
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mai_chassis.holidays import romanian_public_holidays
from mai_chassis.uploads import UploadRefused, check_upload

from .errors import (
    AttachmentRefused,
    ClosureNotAllowed,
    DeadlineAlreadyExtended,
    ExtensionTooLong,
    ForwardToSameInstitution,
    JoinOfAnotherInstitution,
    JoinOfAnotherPetitioner,
    JoinToItself,
    PetitionNotOpen,
)

__all__ = [
    "ANSWER_DAYS",
    "FORWARD_DAYS",
    "MAX_EXTENSION_DAYS",
    "ROMANIA",
    "Closure",
    "RegistrationNumber",
    "Status",
    "answer_due_on",
    "content_fingerprint",
    "extended_due_on",
    "forward_due_on",
    "forwarded_late",
    "is_working_day",
    "latest_deadline_to_remind",
    "local_date",
    "next_working_day",
    "public_holidays",
    "reminder_day",
    "reminder_is_due",
    "sniff_attachment_type",
    "working_days_before",
    "working_days_left",
]

ROMANIA = ZoneInfo("Europe/Bucharest")
ANSWER_DAYS = 30
FORWARD_DAYS = 5
MAX_EXTENSION_DAYS = 15


# --- registration numbers -------------------------------------------------------------------

_NUMBER_SHAPE = re.compile(r"^(?P<institution>[A-Z][A-Z0-9]{1,15})-(?P<year>\d{4})-(?P<sequence>\d{6,})$")


@dataclass(frozen=True, order=True)
class RegistrationNumber:
    """``IGPR-2026-000123``: institution, year of registration, gapless sequence in that year."""

    institution: str
    year: int
    sequence: int

    def __post_init__(self) -> None:
        if self.sequence < 1:
            raise ValueError("a registration sequence starts at 1")

    def __str__(self) -> str:
        return f"{self.institution}-{self.year:04d}-{self.sequence:06d}"

    @classmethod
    def parse(cls, text: str) -> RegistrationNumber:
        match = _NUMBER_SHAPE.match(text.strip().upper())
        if match is None:
            raise ValueError(f"not a registration number: {text!r}")
        return cls(match["institution"], int(match["year"]), int(match["sequence"]))


# --- calendar -----------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (a naive one, as SQLite returns them, is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_date(moment: datetime) -> date:
    """The date in Romania at ``moment``."""
    return as_utc(moment).astimezone(ROMANIA).date()


def public_holidays(year: int) -> frozenset[date]:
    """Romania's public holidays (non-working days by law) in ``year``."""
    return romanian_public_holidays(year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def answer_due_on(registered_at: datetime) -> date:
    return next_working_day(local_date(registered_at) + timedelta(days=ANSWER_DAYS))


def forward_due_on(registered_at: datetime) -> date:
    return next_working_day(local_date(registered_at) + timedelta(days=FORWARD_DAYS))


def extended_due_on(current_due_on: date, days: int, *, already_extended: bool) -> date:
    """The deadline after its one extension by ``days`` (1 to 15)."""
    if already_extended:
        raise DeadlineAlreadyExtended()
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ExtensionTooLong(f"A deadline can be extended by 1 to {MAX_EXTENSION_DAYS} days.")
    return next_working_day(current_due_on + timedelta(days=days))


# --- the life of a petition ---------------------------------------------------------------------


class Status(enum.StrEnum):
    REGISTERED = "registered"  # registered, nobody works on it yet
    IN_PROGRESS = "in_progress"  # assigned to a clerk
    ANSWERED = "answered"  # the answer was sent; the file is closed
    CLOSED = "closed"  # closed without an answer of its own (joined, repeat, withdrawn, noted)

    @property
    def is_open(self) -> bool:
        return self in (Status.REGISTERED, Status.IN_PROGRESS)


class Closure(enum.StrEnum):
    """Why a file was closed (``outcome`` of petition.closed)."""

    ANSWERED = "answered"
    JOINED = "joined"
    REPEAT = "repeat"
    WITHDRAWN = "withdrawn"
    NOTED = "noted"  # an opinion or suggestion taken into account without an answer of its own


def require_open(status: Status, action: str) -> None:
    if not status.is_open:
        raise PetitionNotOpen(status.value, action)


def require_can_forward(status: Status, from_institution: str, to_institution: str) -> None:
    require_open(status, "forwarded")
    if from_institution == to_institution:
        raise ForwardToSameInstitution()


def require_can_close(status: Status, closure: Closure, *, kind: str) -> None:
    require_open(status, "closed")
    if closure in (Closure.ANSWERED, Closure.JOINED):
        raise ClosureNotAllowed(f"Use the {closure.value} action; a file is not closed as {closure.value} directly.")
    if closure is Closure.NOTED and kind != "opinion":
        raise ClosureNotAllowed("Only an opinion or suggestion may be closed as noted; a petition must be answered.")


@dataclass(frozen=True)
class JoinCandidate:
    """What the join rule needs to know of a petition."""

    petition_id: str
    registration_number: str
    institution: str
    petitioner_email: str
    status: Status


def require_can_join(main: JoinCandidate, others: Iterable[JoinCandidate]) -> None:
    """Petitions of one petitioner on one problem, at one institution, all still open."""
    require_open(main.status, "joined")
    for other in others:
        if other.petition_id == main.petition_id:
            raise JoinToItself()
        if other.petitioner_email != main.petitioner_email:
            raise JoinOfAnotherPetitioner(other.registration_number)
        if other.institution != main.institution:
            raise JoinOfAnotherInstitution(other.registration_number)
        require_open(other.status, "joined")


def is_overdue(status: Status, due_on: date, today: date, *, forwarded_late: bool = False) -> bool:
    """Open and past its answer deadline, or open after a forward later than the law allows."""
    return status.is_open and (today > due_on or forwarded_late)


def forwarded_late(forwarded_at: datetime, forward_due_on: date) -> bool:
    """Whether a forward on ``forwarded_at`` came after the forwarding deadline (its day in Romania)."""
    return local_date(forwarded_at) > forward_due_on


# --- reminders ----------------------------------------------------------------------------------


def working_days_before(day: date, count: int) -> date:
    """The working day ``count`` working days before ``day`` (``day`` itself when ``count`` is 0)."""
    if count < 0:
        raise ValueError("count must not be negative")
    while count:
        day -= timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def reminder_day(due_on: date, working_days: int) -> date:
    """The first day a clerk is reminded of the answer deadline ``due_on``."""
    return working_days_before(due_on, working_days)


def reminder_is_due(today: date, due_on: date, working_days: int) -> bool:
    """From the reminder day up to the deadline itself (a petition past it is in the overdue queue)."""
    return reminder_day(due_on, working_days) <= today <= due_on


def latest_deadline_to_remind(today: date, working_days: int) -> date:
    """The last answer deadline whose reminder day is ``today`` or earlier."""
    day = today
    while reminder_day(day + timedelta(days=1), working_days) <= today:
        day += timedelta(days=1)
    return day


def working_days_left(today: date, due_on: date) -> int:
    """Working days after ``today`` up to and including ``due_on``."""
    count, day = 0, today
    while day < due_on:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def within_deadline(answered_at: datetime, due_on: date) -> bool:
    return local_date(answered_at) <= due_on


# --- content ------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def content_fingerprint(email: str, institution: str, subject: str, text: str) -> str:
    """Same petitioner, same institution, same words (case, accents and spacing aside)."""

    def fold(value: str) -> str:
        stripped = unicodedata.normalize("NFKD", value.casefold())
        stripped = "".join(ch for ch in stripped if not unicodedata.combining(ch))
        return " ".join(stripped.split())

    material = "\x1f".join([normalise_email(email), institution, fold(subject), fold(text)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def sniff_attachment_type(content: bytes) -> str:
    """The media type the file's bytes prove (a plain PDF, JPEG or PNG, wholly); else refused.

    A PDF carrying scripts, actions or embedded files is refused too, and so is a polyglot: a
    scan needs none of them (:func:`mai_chassis.uploads.check_upload`).
    """
    try:
        return check_upload(content)
    except UploadRefused as refused:
        raise AttachmentRefused(f"Attachments must be plain PDF, JPEG or PNG files. {refused}") from None
