"""Immigration officers review the scanned documents of submitted applications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mai_chassis import UnitOfWork
from sqlalchemy import select

from .. import domain
from ..deps import BookingDeps
from ..domain import ApplicationStatus, DocumentDecision, DocumentStatus, Officer
from ..events import ApplicationReviewed
from ..tables import Application
from .queries import ApplicationDetails, details_of, documents_of, note, officer_application, recipient_of


@dataclass(frozen=True)
class ReviewQueue:
    officer: Officer
    office: str | None = None
    limit: int = 50
    status: ApplicationStatus = ApplicationStatus.SUBMITTED


@dataclass(frozen=True)
class ReviewApplication:
    application_id: str
    officer: Officer
    decisions: Sequence[DocumentDecision]


def review_queue(uow: UnitOfWork, deps: BookingDeps, query: ReviewQueue) -> list[Application]:
    """Applications of the officer's offices in ``query.status`` (submitted: to review; appointment_booked:
    the visit to record; ready_for_pickup: the document to hand over), longest waiting first."""
    officer = query.officer
    statement = select(Application).where(Application.status == query.status.value)
    if query.office is not None:
        if not officer.covers(query.office):
            return []
        statement = statement.where(Application.office == query.office)
    elif "*" not in officer.offices:
        statement = statement.where(Application.office.in_(sorted(officer.offices)))
    return list(uow.session.scalars(statement.order_by(Application.submitted_at, Application.id).limit(query.limit)))


def review_application(uow: UnitOfWork, deps: BookingDeps, command: ReviewApplication) -> ApplicationDetails:
    """Accept or reject every document awaiting review: all accepted opens booking, else changes are requested."""
    session = uow.session
    application = officer_application(session, command.application_id, command.officer, lock=True)
    documents = {d.document_type: d for d in documents_of(session, application.id)}
    outcome = domain.review_outcome(
        ApplicationStatus(application.status),
        {code: DocumentStatus(d.status) for code, d in documents.items()},
        command.decisions,
    )
    now = uow.clock.now()
    reviewed = []
    for decision in command.decisions:
        document = documents[decision.document_type]
        document.status = (DocumentStatus.ACCEPTED if decision.accepted else DocumentStatus.REJECTED).value
        document.feedback = None if decision.accepted else (decision.feedback or "").strip()
        document.reviewed_at, document.reviewed_by = now, command.officer.subject
        entry = {"document_type": document.document_type, "decision": document.status}
        if document.feedback:
            entry["feedback"] = document.feedback
        reviewed.append(entry)
    application.status = outcome.value
    note(session, application, outcome.value, now)
    uow.publish(
        ApplicationReviewed(
            application_id=application.id,
            citizen_id=application.citizen_id,
            application_type=application.application_type,
            office=application.office,
            outcome="accepted" if outcome is ApplicationStatus.DOCUMENTS_ACCEPTED else "changes_requested",
            documents=reviewed,
            reviewed_at=now,
            recipient=recipient_of(application),
        )
    )
    details = details_of(session, deps.catalog, application)
    uow.commit()
    return details
