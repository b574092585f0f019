"""Handler tests on the fake unit of work: SQLite in memory, the outbox in a list, a fixed clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from booking import handlers
from booking.appointment_links import AppointmentLinks, AppointmentLinkSigner
from booking.catalog import load_catalog
from booking.config import Settings
from booking.deps import BookingDeps
from booking.domain import DocumentDecision, Officer
from booking.tables import Base, Slot
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from mai_chassis.testing.samples import sample_pdf

LINK_KEY = "unit-test-link-key-0123456789abcdef"
OFFICE = "IGI-CJ"
TRAVEL_DOCUMENTS = ("application-form", "travel-document-grounds", "photo", "fee-receipt")
CLAIMS = {"email": "ana.popescu@example.ro", "name": "Ana Popescu", "locale": "ro"}
#: Friday 14 March 2025, 11:00 in Bucharest.
START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


class MemoryStore:
    """Document bytes by digest, in a dict."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, digest: str, content: bytes, media_type: str) -> None:
        self.blobs[digest] = content

    def get(self, digest: str) -> bytes:
        return self.blobs[digest]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow(clock: FixedClock) -> Iterator[FakeUnitOfWork]:
    fake = FakeUnitOfWork(Base.metadata, clock=clock, source="booking-svc")
    yield fake
    fake.close()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def deps(store: MemoryStore) -> BookingDeps:
    settings = Settings(appointment_link_key=LINK_KEY, public_base_url="https://portal.example", proposed_slot_count=3)
    links = AppointmentLinks(AppointmentLinkSigner(LINK_KEY), settings.public_base_url)
    return BookingDeps(settings=settings, catalog=load_catalog(), store=store, links=links)


class Desk:
    """Brings applications to a given state through the handlers themselves, for the test to go on from."""

    office = OFFICE
    documents = TRAVEL_DOCUMENTS
    start = START

    def __init__(self, uow: FakeUnitOfWork, deps: BookingDeps) -> None:
        self.uow, self.deps = uow, deps
        self.officer = Officer("officer-1", frozenset({OFFICE}))

    def draft(self, citizen_id: str | None = None) -> handlers.ApplicationDetails:
        command = handlers.CreateDraft(citizen_id or str(uuid.uuid4()), "travel-document", OFFICE, CLAIMS)
        return handlers.create_draft(self.uow, self.deps, command)

    def submitted(self, citizen_id: str | None = None) -> tuple[str, str]:
        """(citizen_id, application_id) of a submitted application."""
        citizen_id = citizen_id or str(uuid.uuid4())
        application_id = self.draft(citizen_id).application.id
        for code in TRAVEL_DOCUMENTS:
            self.upload(citizen_id, application_id, code)
        handlers.submit_application(self.uow, self.deps, handlers.SubmitApplication(application_id, citizen_id))
        return citizen_id, application_id

    def upload(self, citizen_id: str, application_id: str, code: str, content: bytes | None = None) -> Any:
        command = handlers.UploadDocument(application_id, citizen_id, code, content or sample_pdf(), f"{code}.pdf")
        return handlers.upload_document(self.uow, self.deps, command)

    def accepted(self, citizen_id: str | None = None) -> tuple[str, str]:
        """(citizen_id, application_id) of an application whose documents were all accepted."""
        citizen_id, application_id = self.submitted(citizen_id)
        decisions = tuple(DocumentDecision(code, True) for code in TRAVEL_DOCUMENTS)
        command = handlers.ReviewApplication(application_id, self.officer, decisions)
        handlers.review_application(self.uow, self.deps, command)
        return citizen_id, application_id

    def slots(self, *starts: datetime, office: str = OFFICE, counter: str = "1") -> list[int]:
        """Free 20-minute slots starting at ``starts`` (UTC)."""
        rows = [
            Slot(office=office, counter=counter, starts_at=at, ends_at=at + timedelta(minutes=20), is_booked=False)
            for at in starts
        ]
        self.uow.session.add_all(rows)
        self.uow.commit()
        return [row.id for row in rows]

    def booked(self, *, slot_at: datetime | None = None) -> tuple[str, str, Any]:
        """(citizen_id, application_id, appointment) of an application booked on a new slot."""
        citizen_id, application_id = self.accepted()
        (slot_id,) = self.slots(slot_at or START + timedelta(days=3))
        command = handlers.BookAppointment(application_id, citizen_id, slot_id)
        return citizen_id, application_id, handlers.book_appointment(self.uow, self.deps, command)


@pytest.fixture
def desk(uow: FakeUnitOfWork, deps: BookingDeps) -> Desk:
    return Desk(uow, deps)
