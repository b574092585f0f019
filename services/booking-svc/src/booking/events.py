"""What booking-svc publishes: one past-tense event per fact, fields as in ``contracts/events``.

Every instant goes out in UTC (ISO 8601); readers show appointments on the offices' wall clock
(Europe/Bucharest). ``recipient`` is where the applicant's e-mails go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from mai_chassis.events import DomainEvent

from .domain import Recipient

__all__ = [
    "ApplicationReady",
    "ApplicationReviewed",
    "ApplicationSubmitted",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentMoved",
]


@dataclass(frozen=True, kw_only=True)
class ApplicationSubmitted(DomainEvent):
    type: ClassVar[str] = "ro.mai.application.submitted.v1"
    subject_field: ClassVar[str] = "application_id"

    application_id: str
    citizen_id: str
    application_type: str
    document_count: int
    submission_number: int
    submitted_at: datetime


@dataclass(frozen=True, kw_only=True)
class ApplicationReviewed(DomainEvent):
    type: ClassVar[str] = "ro.mai.application.reviewed.v1"
    subject_field: ClassVar[str] = "application_id"

    application_id: str
    citizen_id: str
    application_type: str
    office: str
    outcome: str  # "accepted" or "changes_requested"
    #: ``{"document_type", "decision", "feedback"?}`` per decided document.
    documents: Sequence[Mapping[str, str]]
    reviewed_at: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class ApplicationReady(DomainEvent):
    type: ClassVar[str] = "ro.mai.application.ready.v1"
    subject_field: ClassVar[str] = "application_id"

    application_id: str
    citizen_id: str
    application_type: str
    office: str
    biometrics_taken_at: datetime
    pickup_from: date
    ready_at: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(DomainEvent):
    type: ClassVar[str] = "ro.mai.appointment.booked.v1"
    subject_field: ClassVar[str] = "application_id"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"rescheduled_from", "sealed_manage_link"})

    appointment_id: str
    application_id: str
    citizen_id: str
    application_type: str
    office: str
    counter: str
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    recipient: Recipient
    #: The appointment this one replaces (rescheduling only).
    rescheduled_from: str | None = None
    #: The manage link sealed for notify-svc (only when a sealing key is shared).
    sealed_manage_link: str | None = None


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(DomainEvent):
    type: ClassVar[str] = "ro.mai.appointment.cancelled.v1"
    subject_field: ClassVar[str] = "application_id"

    appointment_id: str
    application_id: str
    citizen_id: str
    office: str
    starts_at: datetime
    cancelled_by: str  # "applicant" or "office"
    reason: str  # "applicant_request", "rescheduled", "office_closed" or "other"
    cancelled_at: datetime
    recipient: Recipient


@dataclass(frozen=True, kw_only=True)
class AppointmentMoved(DomainEvent):
    """The office moved an appointment to another slot (its counter is closed that day)."""

    type: ClassVar[str] = "ro.mai.appointment.moved.v1"
    subject_field: ClassVar[str] = "application_id"
    omitted_when_none: ClassVar[frozenset[str]] = frozenset({"sealed_manage_link"})

    appointment_id: str
    previous_appointment_id: str
    application_id: str
    citizen_id: str
    application_type: str
    office: str
    counter: str
    previous_starts_at: datetime
    starts_at: datetime
    ends_at: datetime
    reason: str  # "office_closed"
    moved_at: datetime
    recipient: Recipient
    #: The new appointment's manage link sealed for notify-svc (only when a sealing key is shared).
    sealed_manage_link: str | None = None
