"""``account.deleted``: record-svc forgets the citizen; issued certificates stay verifiable, unlinked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mai_chassis import Event
from mai_chassis.testing import contract_event
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.domain import VerificationResult
from record.events import CertificateRevoked
from record.handlers import (
    RevokeCertificate,
    VerifyCertificate,
    forget_account,
    revoke_certificate,
    verify_certificate,
)
from record.tables import CertificateApplication, VerifiedCitizen
from sqlalchemy import select

pytestmark = pytest.mark.unit


def _deleted(citizen_id: uuid.UUID) -> Event:
    return contract_event("ro.mai.account.deleted.v1", source="identity-svc", account_id=str(citizen_id))


def _forget(uow: FakeUnitOfWork, citizen_id: uuid.UUID) -> None:
    with uow:
        forget_account(uow, _deleted(citizen_id))
        uow.commit()


def test_an_issued_certificate_stays_verifiable_without_the_account_and_a_referral_goes(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any], refer: Callable[..., Any]
) -> None:
    citizen_id, certificate = issue()
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    other_id, other_certificate = issue(first_name="Ion")
    referred, _ = refer("IPJ-CJ")
    uow.session.add_all(
        [
            VerifiedCitizen(
                citizen_id=citizen_id,
                method="counter",
                assurance_level="high",
                verified_at=uow.clock.now(),
                email="ana@example.ro",
                name="Ana Popescu",
                language="ro",
            )
        ]
    )

    _forget(uow, citizen_id)
    _forget(uow, referred.citizen_id)

    kept = uow.session.get(CertificateApplication, certificate.id)
    assert kept is not None and (kept.citizen_id, kept.recipient_email) == (None, None)
    assert uow.session.get(VerifiedCitizen, citizen_id) is None
    assert uow.session.get(CertificateApplication, referred.id) is None  # no certificate came of it
    check = verify_certificate(uow, deps, VerifyCertificate(number=certificate.registration_number, cnp=cnp))
    assert check.result is VerificationResult.VALID
    other = uow.session.get(CertificateApplication, other_certificate.id)
    assert other.citizen_id == other_id and other.recipient_email  # nobody else's
    linked = uow.session.scalars(select(CertificateApplication.citizen_id)).all()
    assert citizen_id not in linked


def test_revoking_an_unlinked_certificate_tells_nobody_and_verification_says_revoked(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    citizen_id, certificate = issue()
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    _forget(uow, citizen_id)

    revocation = revoke_certificate(
        uow,
        deps,
        RevokeCertificate(
            certificate_id=certificate.id,
            clerk_id="clerk-1",
            clerk_units=frozenset({"IGPR-CAZIER"}),
            unit=None,
            reason="registry_updated",
            note=None,
        ),
    )

    assert revocation.status == "revoked" and uow.events_of(CertificateRevoked) == []
    check = verify_certificate(uow, deps, VerifyCertificate(number=certificate.registration_number, cnp=cnp))
    assert check.result is VerificationResult.REVOKED
