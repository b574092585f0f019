"""Public verification of a certificate by CNP or printed code, and the lock on guessed CNPs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from mai_chassis.clock import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.domain import VerificationResult, format_verification_code
from record.errors import VerificationLocked
from record.handlers import VerifyCertificate, verify_certificate
from record.testing import make_cnp

pytestmark = pytest.mark.unit


def _check(uow: FakeUnitOfWork, deps: RecordDeps, number: str, **proof: str) -> Any:
    return verify_certificate(uow, deps, VerifyCertificate(number=number, **proof))


def test_the_holders_cnp_or_the_printed_code_verify_and_the_name_is_masked(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    citizen_id, certificate = issue(first_name="Ion", last_name="Popescu")
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    printed_code = deps.maker.made[0].verification_code  # type: ignore[attr-defined]

    by_cnp = _check(uow, deps, certificate.registration_number, cnp=cnp)
    by_code = _check(uow, deps, certificate.registration_number.lower(), verification_code=printed_code.lower())
    assert by_cnp == by_code
    assert by_cnp.result is VerificationResult.VALID and by_cnp.holder == "I*** P***"
    assert by_cnp.valid_until == certificate.valid_until


def test_a_wrong_cnp_a_wrong_code_and_an_unknown_number_answer_alike(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    _, certificate = issue()
    number = certificate.registration_number
    wrong_code = format_verification_code("0" * 12)
    answers = [
        _check(uow, deps, number, cnp=make_cnp()),
        _check(uow, deps, number, verification_code=wrong_code),
        _check(uow, deps, "CJ-2031-0000001", verification_code=wrong_code),
        _check(uow, deps, "not a number", cnp=make_cnp()),
    ]
    assert {a.result for a in answers} == {VerificationResult.NOT_FOUND}
    assert all(a.registration_number is None and a.holder is None for a in answers)


def test_five_wrong_cnps_lock_the_number_for_a_day_but_never_the_code(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any], clock: FixedClock
) -> None:
    citizen_id, certificate = issue()
    number, cnp = certificate.registration_number, deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    for _ in range(5):
        _check(uow, deps, number, cnp=make_cnp())
    with pytest.raises(VerificationLocked) as locked:
        _check(uow, deps, number, cnp=cnp)
    assert locked.value.retry_after == 24 * 3600
    assert locked.value.headers == {"Retry-After": str(24 * 3600)}
    code = deps.maker.made[0].verification_code  # type: ignore[attr-defined]
    assert _check(uow, deps, number, verification_code=code).result is VerificationResult.VALID

    clock.advance(timedelta(hours=24, seconds=1))
    assert _check(uow, deps, number, cnp=cnp).result is VerificationResult.VALID


def test_after_six_months_the_certificate_verifies_as_expired(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any], clock: FixedClock
) -> None:
    citizen_id, certificate = issue()
    cnp = deps.civil_status.people[str(citizen_id)].cnp  # type: ignore[attr-defined]
    clock.advance(certificate.valid_until - clock.now())
    assert _check(uow, deps, certificate.registration_number, cnp=cnp).result is VerificationResult.EXPIRED


def test_every_verification_is_one_transaction(
    uow: FakeUnitOfWork, deps: RecordDeps, issue: Callable[..., Any]
) -> None:
    _, certificate = issue()
    before = uow.commits
    _check(uow, deps, certificate.registration_number, cnp=make_cnp())
    assert uow.commits == before + 1
