"""Use cases of booking-svc: one function per action, each inside one unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mai_chassis import UnitOfWork
from mai_chassis.events import Event
from sqlalchemy import Row, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import domain
from .catalog import Catalog
from .config import MAX_DOCUMENT_BYTES
from .documents import DocumentStore, UploadRefused, check_upload, content_digest, sanitize_file_name
from .domain import ApplicationStatus, AppointmentStatus, BookingRuleError, DocumentStatus
from .links import AppointmentLinkSigner
from .tables import (
    ApplicantContact,
    Application,
    ApplicationDocument,
    Appointment,
    RateLimitWindow,
    Slot,
    TimelineEntry,
)

logger = logging.getLogger(__name__)

SUBMITTED = "ro.mai.application.submitted.v1"
REVIEWED = "ro.mai.application.reviewed.v1"
READY = "ro.mai.application.ready.v1"
BOOKED = "ro.mai.appointment.booked.v1"
CANCELLED = "ro.mai.appointment.cancelled.v1"
IDENTITY_VERIFIED = "ro.mai.identity.verified.v1"


class NotFoundError(Exception):
    """The thing does not exist, or is not the caller's to see (the same answer for both)."""


class SlotTakenError(Exception):
    """Another applicant booked the slot first."""


class DocumentRefusedError(Exception):
    """Uploaded content that is too large (413) or not a PDF, JPEG or PNG (415)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RecipientUnknownError(Exception):
    """No e-mail address is known for the applicant yet."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str


@dataclass(frozen=True)
class Officer:
    subject: str
    offices: frozenset[str]  # "*" means every office

    def covers(self, office: str) -> bool:
        return "*" in self.offices or office in self.offices


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every stored moment is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_iso(moment: datetime) -> str:
    return aware(moment).astimezone(domain.OFFICE_TIME_ZONE).isoformat()


def _note(session: Session, application: Application, status: str, at: datetime, note: str | None = None) -> None:
    session.add(TimelineEntry(application_id=application.id, status=status, occurred_at=at, note=note))


def _recipient_of(application: Application) -> dict[str, str]:
    return {
        "email": application.recipient_email,
        "name": application.recipient_name,
        "language": application.recipient_language,
    }


# --- applicants ----------------------------------------------------------------------------------


def resolve_recipient(session: Session, citizen_id: str, claims: Mapping[str, Any], language: str | None) -> Recipient:
    """The applicant's contact from identity.verified, else from the token's own claims."""
    contact = session.get(ApplicantContact, citizen_id)
    if contact is not None:
        return Recipient(contact.email, contact.name, language or contact.language)
    email, name = claims.get("email"), claims.get("name")
    if isinstance(email, str) and email and isinstance(name, str) and name:
        locale = str(claims.get("locale", "ro"))[:2]
        return Recipient(email, name, language or (locale if locale in ("ro", "en") else "ro"))
    raise RecipientUnknownError


def record_verified_identity(uow: UnitOfWork, event: Event) -> None:
    """identity.verified: remember where the applicant's e-mails go (latest verification wins)."""
    data = event.data
    recipient = data["recipient"]
    contact = uow.session.get(ApplicantContact, data["citizen_id"])
    verified_at = datetime.fromisoformat(data["verified_at"])
    if contact is None:
        uow.session.add(
            ApplicantContact(
                citizen_id=data["citizen_id"],
                email=recipient["email"],
                name=recipient["name"],
                language=recipient["language"],
                verified_at=verified_at,
            )
        )
    elif aware(contact.verified_at) <= verified_at:
        contact.email, contact.name, contact.language = recipient["email"], recipient["name"], recipient["language"]
        contact.verified_at = verified_at


def create_draft(
    uow: UnitOfWork,
    catalog: Catalog,
    *,
    citizen_id: str,
    application_type: str,
    office: str,
    recipient: Recipient,
    now: datetime,
) -> Application:
    if application_type not in catalog.application_types:
        raise BookingRuleError("unknown-application-type", f"There is no application type {application_type}.")
    if office not in catalog.offices:
        raise BookingRuleError("unknown-office", f"There is no office {office}.")
    application = Application(
        id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        application_type=application_type,
        office=office,
        status=ApplicationStatus.DRAFT.value,
        submission_number=0,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        recipient_language=recipient.language,
        created_at=now,
    )
    uow.session.add(application)
    _note(uow.session, application, ApplicationStatus.DRAFT.value, now)
    uow.commit()
    return application


def own_application(session: Session, application_id: str, citizen_id: str, *, lock: bool = False) -> Application:
    application = session.get(Application, _uuid(application_id), with_for_update=lock or None)
    if application is None or application.citizen_id != citizen_id:
        raise NotFoundError
    return application


def officer_application(session: Session, application_id: str, officer: Officer, *, lock: bool = False) -> Application:
    application = session.get(Application, _uuid(application_id), with_for_update=lock or None)
    if application is None or not officer.covers(application.office):
        raise NotFoundError
    return application


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFoundError from None


def documents_of(session: Session, application_id: str) -> list[ApplicationDocument]:
    return list(
        session.scalars(
            select(ApplicationDocument)
            .where(ApplicationDocument.application_id == application_id)
            .order_by(ApplicationDocument.document_type)
        )
    )


def upload_document(
    uow: UnitOfWork,
    catalog: Catalog,
    store: DocumentStore,
    *,
    application_id: str,
    citizen_id: str,
    document_type: str,
    content: bytes,
    file_name: str | None,
    now: datetime,
) -> ApplicationDocument:
    """Check, store by content hash and record one document; a refused upload leaves nothing behind."""
    session = uow.session
    application = own_application(session, application_id, citizen_id, lock=True)
    existing = session.scalar(
        select(ApplicationDocument).where(
            ApplicationDocument.application_id == application.id, ApplicationDocument.document_type == document_type
        )
    )
    domain.check_document_can_be_uploaded(
        ApplicationStatus(application.status),
        catalog.application_types[application.application_type],
        document_type,
        DocumentStatus(existing.status) if existing else None,
    )
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentRefusedError(413, f"A document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
    try:
        media_type = check_upload(content)
    except UploadRefused as refused:
        raise DocumentRefusedError(415, f"Upload a plain PDF, JPEG or PNG scan. {refused}") from None
    digest = content_digest(content)
    store.put(digest, content, media_type)  # content-addressed: a rollback leaves only an unreferenced blob
    document = existing or ApplicationDocument(
        id=str(uuid.uuid4()), application_id=application.id, document_type=document_type
    )
    document.sha256, document.media_type, document.size_bytes = digest, media_type, len(content)
    document.file_name = sanitize_file_name(file_name)
    document.status = DocumentStatus.UPLOADED.value
    document.uploaded_at = now
    document.reviewed_at = document.reviewed_by = None
    if existing is None:
        session.add(document)
    uow.commit()
    return document


def submit(uow: UnitOfWork, catalog: Catalog, *, application_id: str, citizen_id: str, now: datetime) -> Application:
    session = uow.session
    application = own_application(session, application_id, citizen_id, lock=True)
    documents = {d.document_type: DocumentStatus(d.status) for d in documents_of(session, application.id)}
    domain.check_can_submit(
        ApplicationStatus(application.status), catalog.application_types[application.application_type], documents
    )
    application.status = ApplicationStatus.SUBMITTED.value
    application.submission_number += 1
    application.submitted_at = now
    _note(session, application, ApplicationStatus.SUBMITTED.value, now)
    uow.publish(
        SUBMITTED,
        subject=application.id,
        data={
            "application_id": application.id,
            "citizen_id": application.citizen_id,
            "application_type": application.application_type,
            "document_count": len(documents),
            "submission_number": application.submission_number,
            "submitted_at": now.isoformat(),
        },
    )
    uow.commit()
    return application


# --- review ----------------------------------------------------------------------------------------


def review_queue(session: Session, officer: Officer, office: str | None, limit: int) -> list[Application]:
    query = select(Application).where(Application.status == ApplicationStatus.SUBMITTED.value)
    if office is not None:
        if not officer.covers(office):
            return []
        query = query.where(Application.office == office)
    elif "*" not in officer.offices:
        query = query.where(Application.office.in_(sorted(officer.offices)))
    return list(session.scalars(query.order_by(Application.submitted_at, Application.id).limit(limit)))


def review(
    uow: UnitOfWork,
    *,
    application_id: str,
    officer: Officer,
    decisions: Sequence[domain.DocumentDecision],
    now: datetime,
) -> Application:
    session = uow.session
    application = officer_application(session, application_id, officer, lock=True)
    documents = {d.document_type: d for d in documents_of(session, application.id)}
    outcome = domain.review_outcome(
        ApplicationStatus(application.status),
        {code: DocumentStatus(d.status) for code, d in documents.items()},
        decisions,
    )
    reviewed = []
    for decision in decisions:
        document = documents[decision.document_type]
        document.status = (DocumentStatus.ACCEPTED if decision.accepted else DocumentStatus.REJECTED).value
        document.feedback = None if decision.accepted else (decision.feedback or "").strip()
        document.reviewed_at, document.reviewed_by = now, officer.subject
        entry: dict[str, Any] = {"document_type": document.document_type, "decision": document.status}
        if document.feedback:
            entry["feedback"] = document.feedback
        reviewed.append(entry)
    application.status = outcome.value
    _note(session, application, outcome.value, now)
    uow.publish(
        REVIEWED,
        subject=application.id,
        data={
            "application_id": application.id,
            "citizen_id": application.citizen_id,
            "application_type": application.application_type,
            "office": application.office,
            "outcome": "accepted" if outcome is ApplicationStatus.DOCUMENTS_ACCEPTED else "changes_requested",
            "documents": reviewed,
            "reviewed_at": now.isoformat(),
            "recipient": _recipient_of(application),
        },
    )
    uow.commit()
    return application


# --- slots and appointments -----------------------------------------------------------------------


def free_slots(session: Session, office: str, start: datetime, end: datetime, limit: int) -> list[Row[Any]]:
    """Free slots as plain rows (no ORM identity map: searches are the hottest read)."""
    return list(
        session.execute(
            select(Slot.id, Slot.office, Slot.counter, Slot.starts_at, Slot.ends_at)
            .where(Slot.office == office, Slot.is_booked.is_(False), Slot.starts_at >= start, Slot.starts_at < end)
            .order_by(Slot.starts_at, Slot.counter)
            .limit(limit)
        )
    )


def _claim_slot(session: Session, slot_id: int) -> bool:
    """Flip the slot to booked only if it is free: concurrent claimants queue on the row lock and
    all but the first find it booked when their turn comes (READ COMMITTED re-checks the WHERE)."""
    result = session.execute(update(Slot).where(Slot.id == slot_id, Slot.is_booked.is_(False)).values(is_booked=True))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


#: Where the e-mailed manage link points on the citizens' portal (the page, not the JSON API: a mail
#: reader can only open a link, and the page's forms make the changes).
MANAGE_PAGE_PATH = "/appointments/manage/"


@dataclass(frozen=True)
class AppointmentLinks:
    signer: AppointmentLinkSigner
    public_base_url: str
    sealer: Any | None = None  # mai_chassis.sealing.Sealer, when notify-svc shares a key

    def token_for(self, appointment: Appointment) -> str:
        """The signed link token of ``appointment``, valid until it starts."""
        return self.signer.sign(appointment.id, aware(appointment.starts_at))

    def manage_url(self, appointment: Appointment) -> str:
        """The citizens' portal page that shows the appointment and offers to move or cancel it."""
        return f"{self.public_base_url}{MANAGE_PAGE_PATH}{self.token_for(appointment)}"


def _book_slot(
    uow: UnitOfWork,
    application: Application,
    slot_id: int,
    links: AppointmentLinks,
    now: datetime,
    rescheduled_from: str | None,
) -> Appointment:
    session = uow.session
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFoundError
    if slot.office != application.office:
        raise BookingRuleError(
            "slot-at-another-office", f"Book a slot at {application.office}, the office handling this application."
        )
    domain.check_slot_bookable(aware(slot.starts_at), now)
    if not _claim_slot(session, slot.id):
        raise SlotTakenError
    appointment = Appointment(
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
    session.add(appointment)
    try:
        session.flush()
    except IntegrityError:  # the partial unique indexes: the database's last word on double booking
        raise SlotTakenError from None
    application.status = ApplicationStatus.APPOINTMENT_BOOKED.value
    _note(session, application, ApplicationStatus.APPOINTMENT_BOOKED.value, now, local_iso(slot.starts_at))
    data: dict[str, Any] = {
        "appointment_id": appointment.id,
        "application_id": application.id,
        "citizen_id": application.citizen_id,
        "application_type": application.application_type,
        "office": appointment.office,
        "counter": appointment.counter,
        "starts_at": local_iso(appointment.starts_at),
        "ends_at": local_iso(appointment.ends_at),
        "booked_at": now.isoformat(),
        "recipient": _recipient_of(application),
    }
    if rescheduled_from:
        data["rescheduled_from"] = rescheduled_from
    if links.sealer is not None:
        data["sealed_manage_link"] = links.sealer.seal(links.manage_url(appointment))
    uow.publish(BOOKED, subject=application.id, data=data)
    return appointment


def book(
    uow: UnitOfWork,
    *,
    application_id: str,
    citizen_id: str,
    slot_id: int | None,
    links: AppointmentLinks,
    now: datetime,
) -> Appointment:
    """Book ``slot_id``, or with None the earliest free slot of the application's office."""
    session = uow.session
    application = own_application(session, application_id, citizen_id, lock=True)
    domain.check_can_book(ApplicationStatus(application.status))
    if slot_id is None:
        appointment = None
        for candidate in free_slots(
            session, application.office, now + timedelta(minutes=1), now + timedelta(days=120), 5
        ):
            try:
                with session.begin_nested():  # a lost race on one candidate moves on to the next
                    appointment = _book_slot(uow, application, candidate.id, links, now, None)
            except SlotTakenError:
                continue
            break
        if appointment is None:
            raise SlotTakenError
    else:
        appointment = _book_slot(uow, application, slot_id, links, now, None)
    uow.commit()
    return appointment


def own_appointment(
    session: Session, appointment_id: str, citizen_id: str | None, *, lock: bool = False
) -> Appointment:
    appointment = session.get(Appointment, _uuid(appointment_id), with_for_update=lock or None)
    if appointment is None or (citizen_id is not None and appointment.citizen_id != citizen_id):
        raise NotFoundError
    return appointment


def _release(uow: UnitOfWork, appointment: Appointment, application: Application, reason: str, now: datetime) -> None:
    session = uow.session
    domain.check_can_change_appointment(AppointmentStatus(appointment.status), aware(appointment.starts_at), now)
    appointment.status = AppointmentStatus.CANCELLED.value
    appointment.cancelled_at, appointment.cancelled_by, appointment.cancel_reason = now, "applicant", reason
    session.execute(update(Slot).where(Slot.id == appointment.slot_id).values(is_booked=False))
    session.flush()
    application.status = ApplicationStatus.DOCUMENTS_ACCEPTED.value
    _note(session, application, "appointment_cancelled", now, local_iso(appointment.starts_at))
    uow.publish(
        CANCELLED,
        subject=application.id,
        data={
            "appointment_id": appointment.id,
            "application_id": application.id,
            "citizen_id": application.citizen_id,
            "office": appointment.office,
            "starts_at": local_iso(appointment.starts_at),
            "cancelled_by": "applicant",
            "reason": reason,
            "cancelled_at": now.isoformat(),
            "recipient": _recipient_of(application),
        },
    )


def _locked_pair(session: Session, appointment_id: str, citizen_id: str | None) -> tuple[Appointment, Application]:
    # Lock the application first (the order every handler uses), then the appointment.
    peek = own_appointment(session, appointment_id, citizen_id)
    application = session.get(Application, peek.application_id, with_for_update=True)
    assert application is not None
    session.refresh(peek, with_for_update=True)
    return peek, application


def cancel(uow: UnitOfWork, *, appointment_id: str, citizen_id: str | None, now: datetime) -> Appointment:
    appointment, application = _locked_pair(uow.session, appointment_id, citizen_id)
    _release(uow, appointment, application, "applicant_request", now)
    uow.commit()
    return appointment


def reschedule(
    uow: UnitOfWork,
    *,
    appointment_id: str,
    citizen_id: str | None,
    slot_id: int,
    links: AppointmentLinks,
    now: datetime,
) -> Appointment:
    """Move to another slot: the old one is freed only if the new one is won, in one transaction."""
    appointment, application = _locked_pair(uow.session, appointment_id, citizen_id)
    _release(uow, appointment, application, "rescheduled", now)
    replacement = _book_slot(uow, application, slot_id, links, now, rescheduled_from=appointment.id)
    uow.commit()
    return replacement


def active_appointment(session: Session, application_id: str) -> Appointment | None:
    return session.scalar(
        select(Appointment).where(
            Appointment.application_id == application_id, Appointment.status == AppointmentStatus.BOOKED.value
        )
    )


def office_appointments(session: Session, office: str, start: datetime, end: datetime) -> list[Appointment]:
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.office == office,
                Appointment.status != AppointmentStatus.CANCELLED.value,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.counter)
        )
    )


# --- after the visit -----------------------------------------------------------------------------


def record_visit(
    uow: UnitOfWork,
    *,
    application_id: str,
    officer: Officer,
    biometrics_taken_at: datetime,
    pickup_from: date,
    now: datetime,
) -> Application:
    session = uow.session
    application = officer_application(session, application_id, officer, lock=True)
    biometrics_taken_at = biometrics_taken_at.astimezone(UTC)  # every stored moment is UTC
    domain.check_can_record_visit(ApplicationStatus(application.status), pickup_from, biometrics_taken_at, now)
    appointment = active_appointment(session, application.id)
    if appointment is not None:
        appointment.status = AppointmentStatus.ATTENDED.value
    application.status = ApplicationStatus.READY_FOR_PICKUP.value
    application.biometrics_taken_at, application.pickup_from = biometrics_taken_at, pickup_from
    _note(session, application, "biometrics_taken", biometrics_taken_at)
    _note(session, application, ApplicationStatus.READY_FOR_PICKUP.value, now, pickup_from.isoformat())
    uow.publish(
        READY,
        subject=application.id,
        data={
            "application_id": application.id,
            "citizen_id": application.citizen_id,
            "application_type": application.application_type,
            "office": application.office,
            "biometrics_taken_at": biometrics_taken_at.isoformat(),
            "pickup_from": pickup_from.isoformat(),
            "ready_at": now.isoformat(),
            "recipient": _recipient_of(application),
        },
    )
    uow.commit()
    return application


def record_pickup(uow: UnitOfWork, *, application_id: str, officer: Officer, now: datetime) -> Application:
    session = uow.session
    application = officer_application(session, application_id, officer, lock=True)
    domain.check_can_record_pickup(
        ApplicationStatus(application.status), application.pickup_from, now.astimezone(domain.OFFICE_TIME_ZONE).date()
    )
    application.status = ApplicationStatus.CLOSED.value
    application.picked_up_at = now
    _note(session, application, "picked_up", now)
    _note(session, application, ApplicationStatus.CLOSED.value, now)
    uow.commit()
    return application


def timeline(session: Session, application_id: str) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.application_id == application_id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
    )


# --- slot generation and rate limits -------------------------------------------------------------


def generate_slots(session: Session, catalog: Catalog, start: date, end: date, offices: Iterable[str]) -> int:
    """Create the slots of ``offices`` for the days ``start``..``end`` (inclusive); existing ones stay."""
    created = 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    day = start
    while day <= end:
        rows = [
            {
                "office": office,
                "counter": s.counter,
                "starts_at": s.starts_at.astimezone(UTC),
                "ends_at": s.ends_at.astimezone(UTC),
                "is_booked": False,
            }
            for office in offices
            for s in domain.office_slots(
                catalog.offices[office], day, calendar=catalog.calendar, slot_minutes=catalog.slot_minutes
            )
        ]
        if rows:
            inserted = session.execute(
                insert(Slot)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["office", "counter", "starts_at"])
                .returning(Slot.id)
            )
            created += len(inserted.all())
        day += timedelta(days=1)
    session.commit()
    return created


def take_allowance(
    session: Session, *, subject: str, action: str, limit: int, window: timedelta, now: datetime
) -> int | None:
    """Count one request in the current fixed window; None if allowed, else seconds until the next window."""
    seconds = int(window.total_seconds())
    window_start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    if is_postgresql:
        # A counter lost in a crash only forgives a few requests: no need to wait for the WAL flush.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    insert = postgresql.insert if is_postgresql else sqlite.insert
    counted = (
        insert(RateLimitWindow)
        .values(subject=subject, action=action, window_start=window_start, hits=1)
        .on_conflict_do_update(
            index_elements=["subject", "action", "window_start"], set_={"hits": RateLimitWindow.hits + 1}
        )
        .returning(RateLimitWindow.hits)
    )
    hits: int = session.execute(counted).scalar_one()
    if hits == 1:  # a new window: the citizen's older ones are no longer needed
        session.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.subject == subject,
                RateLimitWindow.action == action,
                RateLimitWindow.window_start < window_start,
            )
        )
    session.commit()
    if hits > limit:
        return max(1, int((window_start + window - now).total_seconds()))
    return None
