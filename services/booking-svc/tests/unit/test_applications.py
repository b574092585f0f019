"""The applicant's use cases: a draft, its scanned documents, the submission, and what the applicant sees."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from booking import errors, handlers
from booking.domain import Officer, aware
from booking.events import ApplicationSubmitted
from booking.tables import ApplicantContact, Application, ApplicationDocument
from mai_chassis.events import Event
from mai_chassis.testing.samples import renamed_executable, sample_pdf
from sqlalchemy import func, select

pytestmark = pytest.mark.unit


def test_a_draft_records_who_is_mailed_and_starts_the_timeline(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id = str(uuid.uuid4())
    command = handlers.CreateDraft(
        citizen_id, "travel-document", "IGI-CJ", {"email": "ana@example.ro", "name": "Ana", "locale": "en-GB"}
    )
    details = handlers.create_draft(uow, deps, command)

    assert uow.commits == 1
    assert uow.published == []
    stored = uow.session.get(Application, details.application.id)
    assert (stored.status, stored.citizen_id, stored.office) == ("draft", citizen_id, "IGI-CJ")
    assert (stored.recipient_email, stored.recipient_name, stored.recipient_language) == ("ana@example.ro", "Ana", "en")
    assert [(e.status, aware(e.occurred_at)) for e in details.timeline] == [("draft", desk.start)]
    assert [(d.document_type, d.document) for d in details.documents] == [(c, None) for c in desk.documents]


def test_the_verified_contact_wins_over_the_tokens_claims(uow: Any, deps: Any) -> None:
    citizen_id = str(uuid.uuid4())
    verified = {
        "citizen_id": citizen_id,
        "verified_at": "2025-03-01T10:00:00+00:00",
        "recipient": {"email": "verified@example.ro", "name": "Ana Verified", "language": "ro"},
    }
    handlers.record_verified_identity(
        uow, Event(id="e1", type=handlers.IDENTITY_VERIFIED, source="x", subject=None, time=None, data=verified)
    )
    uow.commit()

    command = handlers.CreateDraft(citizen_id, "travel-document", "IGI-CJ", {"email": "claim@example.ro", "name": "A"})
    application = handlers.create_draft(uow, deps, command).application

    assert (application.recipient_email, application.recipient_language) == ("verified@example.ro", "ro")


def test_an_older_verification_does_not_overwrite_a_newer_one(uow: Any) -> None:
    citizen_id = str(uuid.uuid4())

    def verified(at: str, email: str) -> Event:
        recipient = {"email": email, "name": "Ana", "language": "ro"}
        data = {"citizen_id": citizen_id, "verified_at": at, "recipient": recipient}
        return Event(str(uuid.uuid4()), handlers.IDENTITY_VERIFIED, "x", subject=None, time=None, data=data)

    handlers.record_verified_identity(uow, verified("2025-03-02T10:00:00+00:00", "new@example.ro"))
    uow.commit()
    handlers.record_verified_identity(uow, verified("2025-03-01T10:00:00+00:00", "old@example.ro"))
    uow.commit()

    assert uow.session.get(ApplicantContact, citizen_id).email == "new@example.ro"


def test_without_a_known_contact_no_draft_is_created(uow: Any, deps: Any) -> None:
    command = handlers.CreateDraft(str(uuid.uuid4()), "travel-document", "IGI-CJ", {"email": "ana@example.ro"})
    with pytest.raises(errors.IdentityNotVerified):
        handlers.create_draft(uow, deps, command)

    assert uow.session.scalar(select(func.count()).select_from(Application)) == 0


@pytest.mark.parametrize(
    ("application_type", "office", "refusal"),
    [("no-such-type", "IGI-CJ", errors.UnknownApplicationType), ("travel-document", "XX", errors.UnknownOffice)],
)
def test_a_draft_names_a_known_type_and_office(
    uow: Any, deps: Any, desk: Any, application_type: str, office: str, refusal: type[Exception]
) -> None:
    command = handlers.CreateDraft(str(uuid.uuid4()), application_type, office, {"email": "a@example.ro", "name": "A"})
    with pytest.raises(refusal):
        handlers.create_draft(uow, deps, command)
    assert uow.commits == 0


def test_an_upload_is_stored_by_its_hash_and_recorded(uow: Any, deps: Any, desk: Any, store: Any) -> None:
    application = desk.draft().application
    commits = uow.commits
    content = sample_pdf()

    document = desk.upload(application.citizen_id, application.id, "photo", content)

    assert uow.commits == commits + 1
    assert store.blobs[document.sha256] == content
    stored = uow.session.get(ApplicationDocument, document.id)
    assert (stored.status, stored.media_type, stored.size_bytes) == ("uploaded", "application/pdf", len(content))
    assert stored.file_name == "photo.pdf"


def test_a_refused_upload_leaves_nothing_behind(uow: Any, deps: Any, desk: Any, store: Any) -> None:
    application = desk.draft().application
    with pytest.raises(errors.UnsupportedDocumentType):
        desk.upload(application.citizen_id, application.id, "photo", renamed_executable())
    with pytest.raises(errors.DocumentTooLarge):
        desk.upload(application.citizen_id, application.id, "photo", b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024))
    uow.rollback()

    assert store.blobs == {}
    assert uow.session.scalar(select(func.count()).select_from(ApplicationDocument)) == 0


def test_another_applicants_application_is_not_found(uow: Any, deps: Any, desk: Any) -> None:
    application = desk.draft().application
    with pytest.raises(errors.NotFound):
        desk.upload(str(uuid.uuid4()), application.id, "photo")
    with pytest.raises(errors.NotFound):
        handlers.show_application(uow, deps, handlers.ShowApplication("not-a-uuid", citizen_id=application.citizen_id))


def test_submission_publishes_one_event_with_the_number_of_documents(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id = desk.submitted()

    (event,) = uow.events_of(ApplicationSubmitted)
    assert event.application_id == application_id
    assert event.citizen_id == citizen_id
    assert (event.document_count, event.submission_number) == (4, 1)
    assert event.submitted_at == desk.start
    (published,) = uow.published
    assert published.subject == application_id
    assert published.data["submitted_at"] == "2025-03-14T09:00:00Z"
    assert uow.session.get(Application, application_id).status == "submitted"


def test_an_incomplete_application_cannot_be_submitted(uow: Any, deps: Any, desk: Any) -> None:
    application = desk.draft().application
    desk.upload(application.citizen_id, application.id, "photo")
    commits = uow.commits

    with pytest.raises(errors.DocumentsMissing, match="fee-receipt"):
        handlers.submit_application(uow, deps, handlers.SubmitApplication(application.id, application.citizen_id))

    assert uow.commits == commits
    assert uow.published == []


def test_the_applicant_lists_their_applications_newest_first(uow: Any, deps: Any, desk: Any, clock: Any) -> None:
    citizen_id = str(uuid.uuid4())
    first = desk.draft(citizen_id).application.id
    clock.set(datetime(2025, 3, 15, 9, 0, tzinfo=UTC))
    second = desk.draft(citizen_id).application.id
    desk.draft()  # someone else's

    listed = handlers.list_applications(uow, deps, handlers.ListApplications(citizen_id))

    assert [a.id for a in listed] == [second, first]


def test_a_stored_scan_is_fetched_by_its_applicant_and_the_offices_officers(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id = desk.submitted()
    as_applicant = handlers.FetchDocument(application_id, "photo", citizen_id=citizen_id)
    as_officer = handlers.FetchDocument(application_id, "photo", officer=desk.officer)
    elsewhere = handlers.FetchDocument(application_id, "photo", officer=Officer("o2", frozenset({"IGI-TM"})))
    photo = uow.session.scalar(
        select(ApplicationDocument).where(
            ApplicationDocument.application_id == application_id, ApplicationDocument.document_type == "photo"
        )
    )

    fetched = handlers.fetch_document(uow, deps, as_applicant)
    assert hashlib.sha256(fetched.content).hexdigest() == photo.sha256
    assert handlers.fetch_document(uow, deps, as_officer).media_type == "application/pdf"
    with pytest.raises(errors.NotFound):
        handlers.fetch_document(uow, deps, elsewhere)
