"""Certificate clerks find a certificate by number, read its history and revoke it, in their units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.errors import CertificateNotFound, CertificateNotRevocable
from record.events import CertificateRevoked
from record.handlers import (
    FindCertificate,
    RevokeCertificateByNumber,
    VerifyCertificate,
    certificate_history,
    find_certificate,
    revoke_certificate_by_number,
    verify_certificate,
)

pytestmark = pytest.mark.unit

ISSUING = frozenset({"IGPR-CAZIER"})


def test_a_clerk_finds_a_certificate_by_its_number_as_typed(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    _, certificate = issue(first_name="Ion", last_name="Popescu")
    typed = " " + certificate.registration_number.lower() + " "
    found = find_certificate(uow, deps, FindCertificate(number=typed, clerk_units=ISSUING))
    assert (found.id, found.status, found.holder_name) == (certificate.id, "valid", "Ion Popescu")
    assert (found.issued_in_unit, found.issued_through, found.revocation) == ("IGPR-CAZIER", "online", None)


@pytest.mark.parametrize("units", [frozenset({"IPJ-CJ"}), frozenset()], ids=["another-unit", "no-unit"])
def test_another_units_clerk_finds_nothing_and_revokes_nothing(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any], units: frozenset[str]
) -> None:
    _, certificate = issue()
    number = certificate.registration_number
    with pytest.raises(CertificateNotFound):
        find_certificate(uow, deps, FindCertificate(number=number, clerk_units=units))
    with pytest.raises(CertificateNotFound):
        certificate_history(uow, deps, FindCertificate(number=number, clerk_units=units))
    with pytest.raises(CertificateNotFound):
        revoke_certificate_by_number(
            uow, deps, RevokeCertificateByNumber(number=number, clerk_id="c", clerk_units=units, reason="other")
        )
    assert uow.events_of(CertificateRevoked) == []


def test_the_history_says_when_it_was_issued_verified_and_revoked_and_by_whom(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    citizen_id, certificate = issue()
    number = certificate.registration_number
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    for _ in range(2):
        verify_certificate(uow, deps, VerifyCertificate(number=number, cnp=cnp))
    revocation = revoke_certificate_by_number(
        uow,
        deps,
        RevokeCertificateByNumber(
            number=number, clerk_id="clerk-3", clerk_units=ISSUING, reason="issued_in_error", note="wrong holder"
        ),
    )
    assert revocation.registration_number == number and revocation.unit == "IGPR-CAZIER"

    history = certificate_history(uow, deps, FindCertificate(number=number, clerk_units=ISSUING))
    assert [e.event for e in history.events] == ["requested", "issued", "revoked"]
    assert history.events[0].channel == "web" and history.events[1].channel == "online"
    revoked = history.events[-1]
    assert (revoked.reason, revoked.note, revoked.by, revoked.unit) == (
        "issued_in_error",
        "wrong holder",
        "clerk-3",
        "IGPR-CAZIER",
    )
    assert history.verifications == 2 and history.last_verified_at == uow.clock.now()
    found = find_certificate(uow, deps, FindCertificate(number=number, clerk_units=ISSUING))
    assert found.status == "revoked" and found.revocation and found.revocation.reason == "issued_in_error"
    with pytest.raises(CertificateNotRevocable):
        revoke_certificate_by_number(
            uow, deps, RevokeCertificateByNumber(number=number, clerk_id="c", clerk_units=ISSUING, reason="other")
        )
