"""Officers review the documents: every one decided, a rejection says why, the outcome is published."""

from __future__ import annotations

from typing import Any

import pytest
from booking import errors, handlers
from booking.domain import DocumentDecision, Officer
from booking.events import ApplicationReviewed
from booking.tables import Application, ApplicationDocument
from sqlalchemy import select

pytestmark = pytest.mark.unit


def decide(desk: Any, **rejected: str) -> tuple[DocumentDecision, ...]:
    """Accept every document except those given as ``code=feedback`` (underscores for dashes)."""
    rejections = {code.replace("_", "-"): feedback for code, feedback in rejected.items()}
    return tuple(DocumentDecision(code, code not in rejections, rejections.get(code)) for code in desk.documents)


def test_the_queue_holds_the_officers_offices_submitted_applications_oldest_first(
    uow: Any, deps: Any, desk: Any
) -> None:
    _, first = desk.submitted()
    _, second = desk.submitted()
    desk.draft()  # not submitted

    queue = handlers.review_queue(uow, deps, handlers.ReviewQueue(desk.officer))
    elsewhere = handlers.review_queue(uow, deps, handlers.ReviewQueue(Officer("o2", frozenset({"IGI-TM"}))))
    not_theirs = handlers.review_queue(uow, deps, handlers.ReviewQueue(desk.officer, office="IGI-TM"))

    assert [a.id for a in queue] == sorted([first, second], key=lambda i: (desk.start, i))
    assert elsewhere == []
    assert not_theirs == []


def test_all_documents_accepted_opens_booking_and_is_announced(uow: Any, deps: Any, desk: Any) -> None:
    citizen_id, application_id = desk.submitted()
    commits = uow.commits

    details = handlers.review_application(
        uow, deps, handlers.ReviewApplication(application_id, desk.officer, decide(desk))
    )

    assert uow.commits == commits + 1
    assert details.application.status == "documents_accepted"
    assert {d.document.status for d in details.documents} == {"accepted"}
    (event,) = uow.events_of(ApplicationReviewed)
    assert (event.application_id, event.citizen_id, event.outcome) == (application_id, citizen_id, "accepted")
    assert [d["decision"] for d in event.documents] == ["accepted"] * 4
    assert event.recipient.email == "ana.popescu@example.ro"
    assert uow.published[-1].data["recipient"] == {
        "email": "ana.popescu@example.ro",
        "name": "Ana Popescu",
        "language": "ro",
    }


def test_a_rejected_document_requests_changes_with_the_officers_feedback(uow: Any, deps: Any, desk: Any) -> None:
    _, application_id = desk.submitted()

    handlers.review_application(
        uow, deps, handlers.ReviewApplication(application_id, desk.officer, decide(desk, photo="  blurred  "))
    )

    assert uow.session.get(Application, application_id).status == "changes_requested"
    photo = uow.session.scalar(select(ApplicationDocument).where(ApplicationDocument.document_type == "photo"))
    assert (photo.status, photo.feedback, photo.reviewed_by) == ("rejected", "blurred", "officer-1")
    (event,) = uow.events_of(ApplicationReviewed)
    assert event.outcome == "changes_requested"
    assert {"document_type": "photo", "decision": "rejected", "feedback": "blurred"} in event.documents


def test_a_refused_review_changes_nothing_and_announces_nothing(uow: Any, deps: Any, desk: Any) -> None:
    _, application_id = desk.submitted()
    commits, published = uow.commits, len(uow.published)
    partial = decide(desk)[:2]

    with pytest.raises(errors.DecisionMissing):
        handlers.review_application(uow, deps, handlers.ReviewApplication(application_id, desk.officer, partial))
    uow.rollback()

    assert (uow.commits, len(uow.published)) == (commits, published)
    assert uow.session.get(Application, application_id).status == "submitted"


def test_an_officer_of_another_office_does_not_see_the_application(uow: Any, deps: Any, desk: Any) -> None:
    _, application_id = desk.submitted()
    stranger = Officer("o2", frozenset({"IGI-TM"}))

    with pytest.raises(errors.NotFound):
        handlers.review_application(uow, deps, handlers.ReviewApplication(application_id, stranger, decide(desk)))
