"""The applicant's side of an application: draft, scanned documents, submission, and what they see."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mai_chassis import UnitOfWork
from mai_chassis.events import Event
from sqlalchemy import select

from .. import domain
from ..config import MAX_DOCUMENT_BYTES
from ..deps import BookingDeps
from ..documents import UploadRefused, check_upload, content_digest, sanitize_file_name
from ..domain import ApplicationStatus, DocumentStatus, Officer, Recipient, aware
from ..errors import (
    DocumentTooLarge,
    IdentityNotVerified,
    NotFound,
    UnknownApplicationType,
    UnknownOffice,
    UnsupportedDocumentType,
)
from ..events import ApplicationSubmitted
from ..tables import ApplicantContact, Application, ApplicationDocument, TimelineEntry
from .queries import (
    ApplicationDetails,
    details_of,
    document_of,
    documents_of,
    note,
    own_application,
    timeline_of,
    visible_application,
)

IDENTITY_VERIFIED = "ro.mai.identity.verified.v1"


# --- commands and queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateDraft:
    citizen_id: str
    application_type: str
    office: str
    #: The access token's claims: the applicant's contact when identity.verified has not arrived.
    claims: Mapping[str, Any] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True)
class UploadDocument:
    application_id: str
    citizen_id: str
    document_type: str
    content: bytes = field(repr=False)
    file_name: str | None = None


@dataclass(frozen=True)
class SubmitApplication:
    application_id: str
    citizen_id: str


@dataclass(frozen=True)
class ShowApplication:
    """As its applicant (``citizen_id``) or as an officer of its office (``officer``)."""

    application_id: str
    citizen_id: str | None = None
    officer: Officer | None = None


@dataclass(frozen=True)
class ListApplications:
    citizen_id: str


@dataclass(frozen=True)
class ShowTimeline:
    application_id: str
    citizen_id: str


@dataclass(frozen=True)
class FetchDocument:
    application_id: str
    document_type: str
    citizen_id: str | None = None
    officer: Officer | None = None


@dataclass(frozen=True)
class Timeline:
    application: Application
    entries: list[TimelineEntry]


@dataclass(frozen=True)
class DocumentContent:
    content: bytes = field(repr=False)
    media_type: str


# --- the applicant's contact -------------------------------------------------------------------------


def resolve_recipient(uow: UnitOfWork, citizen_id: str, claims: Mapping[str, Any], language: str | None) -> Recipient:
    """The applicant's contact from identity.verified, else from the token's own claims."""
    contact = uow.session.get(ApplicantContact, citizen_id)
    if contact is not None:
        return Recipient(contact.email, contact.name, language or contact.language)
    email, name = claims.get("email"), claims.get("name")
    if isinstance(email, str) and email and isinstance(name, str) and name:
        locale = str(claims.get("locale", "ro"))[:2]
        return Recipient(email, name, language or (locale if locale in ("ro", "en") else "ro"))
    raise IdentityNotVerified


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


# --- handlers ------------------------------------------------------------------------------------------


def create_draft(uow: UnitOfWork, deps: BookingDeps, command: CreateDraft) -> ApplicationDetails:
    recipient = resolve_recipient(uow, command.citizen_id, command.claims, command.language)
    if command.application_type not in deps.catalog.application_types:
        raise UnknownApplicationType(f"There is no application type {command.application_type}.")
    if command.office not in deps.catalog.offices:
        raise UnknownOffice(f"There is no office {command.office}.")
    now = uow.clock.now()
    application = Application(
        id=str(uuid.uuid4()),
        citizen_id=command.citizen_id,
        application_type=command.application_type,
        office=command.office,
        status=ApplicationStatus.DRAFT.value,
        submission_number=0,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        recipient_language=recipient.language,
        created_at=now,
    )
    uow.session.add(application)
    note(uow.session, application, ApplicationStatus.DRAFT.value, now)
    details = details_of(uow.session, deps.catalog, application)
    uow.commit()
    return details


def upload_document(uow: UnitOfWork, deps: BookingDeps, command: UploadDocument) -> ApplicationDocument:
    """Check, store by content hash and record one document; a refused upload leaves nothing behind."""
    session = uow.session
    application = own_application(session, command.application_id, command.citizen_id, lock=True)
    existing = document_of(session, application.id, command.document_type)
    domain.check_document_can_be_uploaded(
        ApplicationStatus(application.status),
        deps.catalog.application_types[application.application_type],
        command.document_type,
        DocumentStatus(existing.status) if existing else None,
    )
    content = command.content
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(f"A document may be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
    try:
        media_type = check_upload(content)
    except UploadRefused as refused:
        raise UnsupportedDocumentType(f"Upload a plain PDF, JPEG or PNG scan. {refused}") from None
    digest = content_digest(content)
    deps.store.put(digest, content, media_type)  # content-addressed: a rollback leaves only an unreferenced blob
    document = existing or ApplicationDocument(
        id=str(uuid.uuid4()), application_id=application.id, document_type=command.document_type
    )
    document.sha256, document.media_type, document.size_bytes = digest, media_type, len(content)
    document.file_name = sanitize_file_name(command.file_name)
    document.status = DocumentStatus.UPLOADED.value
    document.uploaded_at = uow.clock.now()
    document.reviewed_at = document.reviewed_by = None
    if existing is None:
        session.add(document)
    uow.commit()
    return document


def submit_application(uow: UnitOfWork, deps: BookingDeps, command: SubmitApplication) -> ApplicationDetails:
    session = uow.session
    application = own_application(session, command.application_id, command.citizen_id, lock=True)
    documents = {d.document_type: DocumentStatus(d.status) for d in documents_of(session, application.id)}
    domain.check_can_submit(
        ApplicationStatus(application.status), deps.catalog.application_types[application.application_type], documents
    )
    now = uow.clock.now()
    application.status = ApplicationStatus.SUBMITTED.value
    application.submission_number += 1
    application.submitted_at = now
    note(session, application, ApplicationStatus.SUBMITTED.value, now)
    uow.publish(
        ApplicationSubmitted(
            application_id=application.id,
            citizen_id=application.citizen_id,
            application_type=application.application_type,
            document_count=len(documents),
            submission_number=application.submission_number,
            submitted_at=now,
        )
    )
    details = details_of(session, deps.catalog, application)
    uow.commit()
    return details


# --- queries (nothing to commit) ------------------------------------------------------------------------


def show_application(uow: UnitOfWork, deps: BookingDeps, query: ShowApplication) -> ApplicationDetails:
    application = visible_application(
        uow.session, query.application_id, citizen_id=query.citizen_id, officer=query.officer
    )
    return details_of(uow.session, deps.catalog, application)


def list_applications(uow: UnitOfWork, deps: BookingDeps, query: ListApplications) -> list[Application]:
    """The applicant's applications, newest first."""
    return list(
        uow.session.scalars(
            select(Application)
            .where(Application.citizen_id == query.citizen_id)
            .order_by(Application.created_at.desc())
        )
    )


def show_timeline(uow: UnitOfWork, deps: BookingDeps, query: ShowTimeline) -> Timeline:
    application = own_application(uow.session, query.application_id, query.citizen_id)
    return Timeline(application, timeline_of(uow.session, application.id))


def fetch_document(uow: UnitOfWork, deps: BookingDeps, query: FetchDocument) -> DocumentContent:
    """A stored scan's bytes, for its applicant or an officer of the application's office."""
    application = visible_application(
        uow.session, query.application_id, citizen_id=query.citizen_id, officer=query.officer
    )
    document = document_of(uow.session, application.id, query.document_type)
    if document is None:
        raise NotFound
    return DocumentContent(deps.store.get(document.sha256), document.media_type)
