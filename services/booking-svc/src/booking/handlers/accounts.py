"""A citizen's rights over their account's data here: ``account.deleted`` makes booking-svc forget
the citizen (applications, documents and their scans, appointments, contact; a booked slot is free
again); :func:`export_citizen_data` is what booking-svc holds about the account."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mai_chassis import Event, UnitOfWork
from mai_chassis.personal_data import export_document, row_data, rows_data
from sqlalchemy import delete, select, update

from ..deps import BookingDeps
from ..documents import DocumentStore
from ..domain import AppointmentStatus
from ..retention import delete_documents
from ..tables import (
    ApplicantContact,
    Application,
    ApplicationDocument,
    Appointment,
    RateLimitWindow,
    Slot,
    TimelineEntry,
)

__all__ = ["ACCOUNT_DELETED", "CitizensData", "export_citizen_data", "forget_account"]

logger = logging.getLogger(__name__)

ACCOUNT_DELETED = "ro.mai.account.deleted.v1"


def forget_account(uow: UnitOfWork, event: Event, *, store: DocumentStore) -> None:
    """Everything booking-svc holds about the account goes (the retention table keeps none of it:
    the immigration authority keeps its decisions in its own records). A replay finds nothing
    left (the consumer commits)."""
    citizen_id = str(event.data["account_id"])
    session = uow.session
    applications = select(Application.id).where(Application.citizen_id == citizen_id)
    booked_slots = select(Appointment.slot_id).where(
        Appointment.application_id.in_(applications),
        Appointment.status == AppointmentStatus.BOOKED.value,
        Appointment.slot_id.is_not(None),
    )
    freed = session.execute(update(Slot).where(Slot.id.in_(booked_slots)).values(is_booked=False)).rowcount  # type: ignore[attr-defined]
    documents = list(
        session.scalars(select(ApplicationDocument.id).where(ApplicationDocument.application_id.in_(applications)))
    )
    if documents:
        delete_documents(session, store, documents)
    # Timeline entries and appointments go with their application (ON DELETE CASCADE).
    removed = session.execute(delete(Application).where(Application.citizen_id == citizen_id)).rowcount  # type: ignore[attr-defined]
    session.execute(delete(ApplicantContact).where(ApplicantContact.citizen_id == citizen_id))
    session.execute(delete(RateLimitWindow).where(RateLimitWindow.subject == citizen_id))
    logger.info(
        "account deleted: %d applications, %d documents removed, %d slots freed", removed, len(documents), freed
    )


@dataclass(frozen=True)
class CitizensData:
    citizen_id: str


def export_citizen_data(uow: UnitOfWork, deps: BookingDeps, query: CitizensData) -> dict[str, Any]:
    """The citizen's applications with their documents (names, types, review; not the scans, which the
    application's page shows), timelines and appointments, and the contact learnt from identity.verified."""
    session = uow.session
    applications = []
    for application in session.scalars(
        select(Application).where(Application.citizen_id == query.citizen_id).order_by(Application.created_at)
    ):
        item = row_data(application, exclude=("citizen_id",))
        item["documents"] = rows_data(
            session.scalars(select(ApplicationDocument).where(ApplicationDocument.application_id == application.id)),
            exclude=("application_id", "sha256", "reviewed_by"),
        )
        item["timeline"] = rows_data(
            session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.application_id == application.id)
                .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
            ),
            exclude=("id", "application_id"),
        )
        item["appointments"] = rows_data(
            session.scalars(
                select(Appointment).where(Appointment.application_id == application.id).order_by(Appointment.booked_at)
            ),
            exclude=("application_id", "citizen_id", "slot_id"),
        )
        applications.append(item)
    contact = session.get(ApplicantContact, query.citizen_id)
    return export_document(
        "booking-svc",
        query.citizen_id,
        {
            "applications": applications,
            "contact": row_data(contact, exclude=("citizen_id",)) if contact is not None else None,
        },
    )
