"""At the counter: the officer records the applicant's visit (biometrics), then the document's pickup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from mai_chassis import UnitOfWork

from .. import domain
from ..deps import BookingDeps
from ..domain import ApplicationStatus, AppointmentStatus, Officer
from ..events import ApplicationReady
from .queries import ApplicationDetails, active_appointment, details_of, note, officer_application, recipient_of


@dataclass(frozen=True)
class RecordVisit:
    application_id: str
    officer: Officer
    pickup_from: date
    #: When the biometrics were taken (None: now).
    biometrics_taken_at: datetime | None = None


@dataclass(frozen=True)
class RecordPickup:
    application_id: str
    officer: Officer


def record_visit(uow: UnitOfWork, deps: BookingDeps, command: RecordVisit) -> ApplicationDetails:
    session = uow.session
    application = officer_application(session, command.application_id, command.officer, lock=True)
    now = uow.clock.now()
    biometrics_taken_at = (command.biometrics_taken_at or now).astimezone(UTC)  # every stored moment is UTC
    pickup_from = command.pickup_from
    domain.check_can_record_visit(ApplicationStatus(application.status), pickup_from, biometrics_taken_at, now)
    appointment = active_appointment(session, application.id)
    if appointment is not None:
        appointment.status = AppointmentStatus.ATTENDED.value
    application.status = ApplicationStatus.READY_FOR_PICKUP.value
    application.biometrics_taken_at, application.pickup_from = biometrics_taken_at, pickup_from
    note(session, application, "biometrics_taken", biometrics_taken_at)
    note(session, application, ApplicationStatus.READY_FOR_PICKUP.value, now, pickup_from.isoformat())
    uow.publish(
        ApplicationReady(
            application_id=application.id,
            citizen_id=application.citizen_id,
            application_type=application.application_type,
            office=application.office,
            biometrics_taken_at=biometrics_taken_at,
            pickup_from=pickup_from,
            ready_at=now,
            recipient=recipient_of(application),
        )
    )
    details = details_of(session, deps.catalog, application)
    uow.commit()
    return details


def record_pickup(uow: UnitOfWork, deps: BookingDeps, command: RecordPickup) -> ApplicationDetails:
    session = uow.session
    application = officer_application(session, command.application_id, command.officer, lock=True)
    now = uow.clock.now()
    domain.check_can_record_pickup(ApplicationStatus(application.status), application.pickup_from, uow.clock.today())
    application.status = ApplicationStatus.CLOSED.value
    application.picked_up_at = now
    note(session, application, "picked_up", now)
    note(session, application, ApplicationStatus.CLOSED.value, now)
    details = details_of(session, deps.catalog, application)
    uow.commit()
    return details
