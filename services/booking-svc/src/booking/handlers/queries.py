"""Reads shared by the handlers: an applicant's or officer's application, its documents and timeline.

A thing that does not exist and a thing that is not the caller's to see give the same answer
(:class:`~booking.errors.NotFound`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalog import Catalog
from ..domain import AppointmentStatus, Officer, Recipient
from ..errors import NotFound
from ..tables import Application, ApplicationDocument, Appointment, TimelineEntry


@dataclass(frozen=True)
class DocumentEntry:
    """One required document of an application: uploaded (``document``) or still missing (None)."""

    document_type: str
    document: ApplicationDocument | None


@dataclass(frozen=True)
class ApplicationDetails:
    """An application with what its page shows: documents, active appointment and timeline."""

    application: Application
    documents: list[DocumentEntry]
    appointment: Appointment | None
    timeline: list[TimelineEntry]


def checked_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound from None


def own_application(session: Session, application_id: str, citizen_id: str, *, lock: bool = False) -> Application:
    application = session.get(Application, checked_uuid(application_id), with_for_update=lock or None)
    if application is None or application.citizen_id != citizen_id:
        raise NotFound
    return application


def officer_application(session: Session, application_id: str, officer: Officer, *, lock: bool = False) -> Application:
    application = session.get(Application, checked_uuid(application_id), with_for_update=lock or None)
    if application is None or not officer.covers(application.office):
        raise NotFound
    return application


def visible_application(
    session: Session, application_id: str, *, citizen_id: str | None, officer: Officer | None
) -> Application:
    """The application as its applicant (``citizen_id``) or an officer of its office sees it."""
    if officer is not None:
        return officer_application(session, application_id, officer)
    assert citizen_id is not None
    return own_application(session, application_id, citizen_id)


def own_appointment(
    session: Session, appointment_id: str, citizen_id: str | None, *, lock: bool = False
) -> Appointment:
    """The appointment (any applicant's with ``citizen_id`` None: the holder of its signed link)."""
    appointment = session.get(Appointment, checked_uuid(appointment_id), with_for_update=lock or None)
    if appointment is None or (citizen_id is not None and appointment.citizen_id != citizen_id):
        raise NotFound
    return appointment


def documents_of(session: Session, application_id: str) -> list[ApplicationDocument]:
    return list(
        session.scalars(
            select(ApplicationDocument)
            .where(ApplicationDocument.application_id == application_id)
            .order_by(ApplicationDocument.document_type)
        )
    )


def document_of(session: Session, application_id: str, document_type: str) -> ApplicationDocument | None:
    return session.scalar(
        select(ApplicationDocument).where(
            ApplicationDocument.application_id == application_id, ApplicationDocument.document_type == document_type
        )
    )


def active_appointment(session: Session, application_id: str) -> Appointment | None:
    return session.scalar(
        select(Appointment).where(
            Appointment.application_id == application_id, Appointment.status == AppointmentStatus.BOOKED.value
        )
    )


def timeline_of(session: Session, application_id: str) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.application_id == application_id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
    )


def details_of(session: Session, catalog: Catalog, application: Application) -> ApplicationDetails:
    """Everything the application's page shows, read now (the result outlives the transaction)."""
    session.flush()
    stored = {d.document_type: d for d in documents_of(session, application.id)}
    required = catalog.application_types[application.application_type].required_codes
    return ApplicationDetails(
        application=application,
        documents=[DocumentEntry(code, stored.get(code)) for code in required],
        appointment=active_appointment(session, application.id),
        timeline=timeline_of(session, application.id),
    )


def note(session: Session, application: Application, status: str, at: datetime, text: str | None = None) -> None:
    """Add a line to the application's timeline."""
    session.add(TimelineEntry(application_id=application.id, status=status, occurred_at=at, note=text))


def recipient_of(application: Application) -> Recipient:
    return Recipient(application.recipient_email, application.recipient_name, application.recipient_language)
