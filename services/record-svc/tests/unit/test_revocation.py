"""A certificate clerk of the issuing unit revokes a certificate; nobody else can."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.domain import VerificationResult
from record.errors import CertificateNotFound, CertificateNotRevocable, RevocationForbidden
from record.events import CertificateRevoked
from record.handlers import RevokeCertificate, ShowCertificate, revoke_certificate, show_certificate

pytestmark = pytest.mark.unit


def _revoke(certificate_id: uuid.UUID, *units: str, unit: str | None = None) -> RevokeCertificate:
    return RevokeCertificate(
        certificate_id=certificate_id,
        clerk_id="clerk-1",
        clerk_units=frozenset(units),
        unit=unit,
        reason="registry_updated",
        note="sentence registered late",
    )


def test_a_clerk_of_the_issuing_unit_revokes_and_the_holder_is_told(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    citizen_id, certificate = issue()
    commits = uow.commits
    revocation = revoke_certificate(uow, deps, _revoke(certificate.id, "IGPR-CAZIER"))
    assert (revocation.status, revocation.unit, revocation.reason) == ("revoked", "IGPR-CAZIER", "registry_updated")
    assert uow.commits == commits + 1
    (revoked,) = uow.events_of(CertificateRevoked)
    assert revoked.registration_number == certificate.registration_number
    assert revoked.recipient.email.endswith("@example.ro")
    assert show_certificate(uow, deps, ShowCertificate(citizen_id, certificate.id)).status == VerificationResult.REVOKED
    with pytest.raises(CertificateNotRevocable):
        revoke_certificate(uow, deps, _revoke(certificate.id, "IGPR-CAZIER"))


@pytest.mark.parametrize(
    ("units", "unit"),
    [(("IPJ-CJ",), None), (("IGPR-CAZIER",), "IPJ-CJ"), ((), None)],
    ids=["clerk-of-another-unit", "acting-in-another-unit", "no-clerk-unit"],
)
def test_nobody_but_the_issuing_units_clerks_revokes(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any], units: tuple[str, ...], unit: str | None
) -> None:
    _, certificate = issue()
    published = len(uow.published)
    with pytest.raises(RevocationForbidden):
        revoke_certificate(uow, deps, _revoke(certificate.id, *units, unit=unit))
    assert len(uow.published) == published


def test_a_national_clerk_revokes_in_the_issuing_units_name(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    _, certificate = issue()
    assert revoke_certificate(uow, deps, _revoke(certificate.id, "*")).unit == "IGPR-CAZIER"


def test_an_unknown_certificate_is_not_found(uow: FakeUnitOfWork, deps: RecordDeps) -> None:
    with pytest.raises(CertificateNotFound):
        revoke_certificate(uow, deps, _revoke(uuid.uuid4(), "IGPR-CAZIER"))
