"""Fakes for handler unit tests: an in-memory unit of work, certificate store, registry and signer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.document import CertificateContent
from record.domain import CivilStatus, RegistryAnswer
from record.handlers import ApplyForCertificate, CertificateSummary, apply_for_certificate
from record.purposes import purpose_catalogue
from record.registry import CnpHasher
from record.tables import Base
from record.testing import FakeCivilStatus, make_person, token_for

HASH_KEY = "unit-tests-only-registry-hash-key-0123456789"


@dataclass
class MemoryCertificateStore:
    files: dict[uuid.UUID, bytes] = field(default_factory=dict)

    def put(self, certificate_id: uuid.UUID, pdf: bytes) -> None:
        self.files[certificate_id] = pdf

    def get(self, certificate_id: uuid.UUID) -> bytes | None:
        return self.files.get(certificate_id)

    def discard(self, certificate_id: uuid.UUID) -> None:
        self.files.pop(certificate_id, None)


@dataclass
class FakeRegistry:
    """People with an entry, by CNP, and the unit that holds their file."""

    entries: dict[str, str | None] = field(default_factory=dict)

    def check(self, cnp: str) -> RegistryAnswer:
        if cnp in self.entries:
            return RegistryAnswer(has_entry=True, unit=self.entries[cnp])
        return RegistryAnswer(has_entry=False)


@dataclass
class RecordingMaker:
    """Stands in for rendering and signing: remembers what it was asked to print."""

    made: list[CertificateContent] = field(default_factory=list)

    def make(self, content: CertificateContent) -> bytes:
        self.made.append(content)
        return b"%PDF-1.7 " + content.registration_number.encode()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))


@pytest.fixture
def uow(clock: FixedClock) -> FakeUnitOfWork:
    return FakeUnitOfWork(Base.metadata, clock=clock, source="record-svc")


@pytest.fixture
def deps() -> RecordDeps:
    return RecordDeps(
        civil_status=FakeCivilStatus(),
        registry=FakeRegistry(),
        hasher=CnpHasher(HASH_KEY),
        maker=RecordingMaker(),
        store=MemoryCertificateStore(),
        purposes=purpose_catalogue(),
        verification_base_url="https://e-services.mai.gov.ro/certificates/verify",
        default_referral_unit="IGPR-CAZIER",
        issuing_unit="IGPR-CAZIER",
    )


@pytest.fixture
def issue(uow: FakeUnitOfWork, deps: RecordDeps) -> Callable[..., tuple[uuid.UUID, CertificateSummary]]:
    """Issues a certificate online to a new citizen: (citizen id, certificate)."""

    def issue_one(**person: str) -> tuple[uuid.UUID, CertificateSummary]:
        citizen_id = uuid.uuid4()
        deps.civil_status.add(str(citizen_id), make_person(**person))  # type: ignore[attr-defined]
        command = ApplyForCertificate(
            citizen_id=citizen_id, assurance="high", bearer_token=token_for(citizen_id), purpose="employment"
        )
        certificate, _ = apply_for_certificate(uow, deps, command)
        return citizen_id, certificate

    return issue_one


@dataclass(frozen=True)
class Referred:
    id: uuid.UUID
    citizen_id: uuid.UUID


@pytest.fixture
def refer(uow: FakeUnitOfWork, deps: RecordDeps) -> Callable[[str], tuple[Referred, CivilStatus]]:
    """A new citizen with a registry entry held by ``unit`` applies: (the referral, the person)."""

    def refer_one(unit: str) -> tuple[Referred, CivilStatus]:
        citizen_id = uuid.uuid4()
        person = deps.civil_status.add(str(citizen_id), make_person())  # type: ignore[attr-defined]
        deps.registry.entries[person.cnp] = unit  # type: ignore[attr-defined]
        command = ApplyForCertificate(
            citizen_id=citizen_id, assurance="high", bearer_token=token_for(citizen_id), purpose="employment"
        )
        application, _ = apply_for_certificate(uow, deps, command)
        uow.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        return Referred(application.id, citizen_id), person

    return refer_one
