"""Applying for a certificate, listing and downloading, with the in-memory unit of work."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from mai_chassis import Event
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.errors import CertificateNotDownloadable, CertificateNotFound, ContactUnknown, IdentityNotVerified
from record.events import CertificateIssued, CertificateRefused, CertificateRequested
from record.handlers import (
    ApplyForCertificate,
    DownloadCertificate,
    ListCertificates,
    ShowCertificate,
    apply_for_certificate,
    download_certificate,
    list_certificates,
    record_verified_identity,
    show_certificate,
)
from record.testing import make_person, token_for

pytestmark = pytest.mark.unit


def _apply(
    deps: RecordDeps, citizen_id: uuid.UUID, *, assurance: str = "high", **overrides: object
) -> ApplyForCertificate:
    return ApplyForCertificate(
        citizen_id=citizen_id,
        assurance=assurance,
        bearer_token=token_for(citizen_id),
        **{"purpose": "employment", **overrides},  # type: ignore[arg-type]
    )


def _citizen(deps: RecordDeps, **person: str) -> uuid.UUID:
    citizen_id = uuid.uuid4()
    deps.civil_status.add(str(citizen_id), make_person(**person))  # type: ignore[attr-defined]
    return citizen_id


def test_without_a_registry_entry_the_certificate_is_issued_signed_and_announced_in_one_commit(
    uow: FakeUnitOfWork, deps: RecordDeps, clock: FixedClock
) -> None:
    citizen_id = _citizen(deps, first_name="Ion", last_name="Popescu")
    certificate, created = apply_for_certificate(uow, deps, _apply(deps, citizen_id))

    assert created and certificate.status == "valid"
    assert certificate.registration_number == "CJ-2026-0000001"
    assert certificate.issued_at == clock.now() and certificate.valid_until == clock.now().replace(month=9)
    assert uow.commits == 1
    assert [type(e.event) for e in uow.published] == [CertificateRequested, CertificateIssued]
    (issued,) = uow.events_of(CertificateIssued)
    assert issued.registration_number == certificate.registration_number
    assert issued.recipient.email == "ion.popescu@example.ro"
    assert uow.published[1].data["issued_at"].endswith("Z")
    printed = deps.maker.made[0]  # type: ignore[attr-defined]
    assert printed.holder.full_name == "Ion Popescu"
    assert printed.qr_url.startswith(deps.verification_url("CJ-2026-0000001") + "#code=")
    assert deps.store.get(certificate.id) is not None
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    assert all(cnp not in json.dumps(e.data) for e in uow.published)


def test_a_registry_entry_refers_the_application_to_the_units_counter_and_prints_nothing(
    uow: FakeUnitOfWork, deps: RecordDeps
) -> None:
    citizen_id = _citizen(deps)
    deps.registry.entries[deps.civil_status.people[str(citizen_id)].cnp] = "IPJ-CJ"  # type: ignore[attr-defined]

    certificate, created = apply_for_certificate(uow, deps, _apply(deps, citizen_id))

    assert created and certificate.status == "referred" and certificate.registration_number is None
    assert certificate.referral is not None and certificate.referral.unit == "IPJ-CJ"
    (refused,) = uow.events_of(CertificateRefused)
    assert (refused.reason, refused.referred_to_unit) == ("registry_entry", "IPJ-CJ")
    assert deps.maker.made == [] and deps.store.files == {}  # type: ignore[attr-defined]
    with pytest.raises(CertificateNotDownloadable) as refused_download:
        download_certificate(uow, deps, DownloadCertificate(citizen_id, certificate.id))
    assert refused_download.value.result == "referred"


def test_an_entry_that_names_no_unit_goes_to_the_default_referral_unit(uow: FakeUnitOfWork, deps: RecordDeps) -> None:
    citizen_id = _citizen(deps)
    deps.registry.entries[deps.civil_status.people[str(citizen_id)].cnp] = None  # type: ignore[attr-defined]
    certificate, _ = apply_for_certificate(uow, deps, _apply(deps, citizen_id))
    assert certificate.referral is not None and certificate.referral.unit == "IGPR-CAZIER"


def test_an_unverified_citizen_is_refused_before_anything_is_fetched_or_written(
    uow: FakeUnitOfWork, deps: RecordDeps
) -> None:
    citizen_id = _citizen(deps)
    with pytest.raises(IdentityNotVerified) as refused:
        apply_for_certificate(uow, deps, _apply(deps, citizen_id, assurance="low"))
    assert {m["method"] for m in refused.value.extensions["verification_methods"]} == {"eid_provider", "counter"}
    assert uow.commits == 0 and uow.published == []


def test_a_citizen_verified_at_a_counter_applies_with_a_plain_token(uow: FakeUnitOfWork, deps: RecordDeps) -> None:
    citizen_id = _citizen(deps)
    with uow:
        record_verified_identity(
            uow,
            Event(
                id="e1",
                type="ro.mai.identity.verified.v1",
                source="identity-svc",
                subject=str(citizen_id),
                time=None,
                data={
                    "citizen_id": str(citizen_id),
                    "method": "counter",
                    "unit": "IPJ-CJ",
                    "assurance_level": "high",
                    "verified_at": "2026-03-01T09:10:00Z",
                    "recipient": {"email": "ana@example.ro", "name": "Ana Popescu", "language": "en"},
                },
            ),
        )
        uow.commit()
    certificate, created = apply_for_certificate(uow, deps, _apply(deps, citizen_id, assurance="low"))
    assert created and certificate.status == "valid"
    assert uow.events_of(CertificateIssued)[0].recipient.language == "en", "the language identity-svc sent"


def test_without_any_e_mail_address_nothing_is_issued(uow: FakeUnitOfWork, deps: RecordDeps) -> None:
    citizen_id = uuid.uuid4()
    person = make_person()
    deps.civil_status.add(str(citizen_id), type(person)(**{**vars(person), "email": None}))  # type: ignore[attr-defined]
    with pytest.raises(ContactUnknown):
        apply_for_certificate(uow, deps, _apply(deps, citizen_id))
    assert uow.commits == 0 and deps.store.files == {}  # type: ignore[attr-defined]


def test_a_second_application_that_day_for_the_purpose_answers_with_the_first(
    uow: FakeUnitOfWork, deps: RecordDeps, clock: FixedClock
) -> None:
    citizen_id = _citizen(deps)
    first, _ = apply_for_certificate(uow, deps, _apply(deps, citizen_id))
    again, created = apply_for_certificate(uow, deps, _apply(deps, citizen_id))
    assert not created and again.id == first.id
    assert len(uow.published) == 2, "nothing new is announced"
    clock.advance(timedelta(days=1))
    _, created_next_day = apply_for_certificate(uow, deps, _apply(deps, citizen_id))
    assert created_next_day


def test_the_holder_lists_and_downloads_while_valid_and_nobody_else_sees_it(
    uow: FakeUnitOfWork, deps: RecordDeps, clock: FixedClock
) -> None:
    holder, other = _citizen(deps), _citizen(deps)
    certificate, _ = apply_for_certificate(uow, deps, _apply(deps, holder))

    assert [c.id for c in list_certificates(uow, deps, ListCertificates(holder))] == [certificate.id]
    assert list_certificates(uow, deps, ListCertificates(other)) == []
    with pytest.raises(CertificateNotFound):
        show_certificate(uow, deps, ShowCertificate(other, certificate.id))
    pdf = download_certificate(uow, deps, DownloadCertificate(holder, certificate.id))
    assert pdf.registration_number == certificate.registration_number and pdf.content.startswith(b"%PDF")

    clock.advance(timedelta(days=185))
    assert show_certificate(uow, deps, ShowCertificate(holder, certificate.id)).status == "expired"
    with pytest.raises(CertificateNotDownloadable):
        download_certificate(uow, deps, DownloadCertificate(holder, certificate.id))
