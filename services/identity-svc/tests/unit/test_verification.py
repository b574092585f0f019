"""Identity verification with an OpenID Connect provider and at the counter, run on the handlers alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from identity import handlers
from identity.commands import (
    FindForCounter,
    FinishVerification,
    IssueCounterCode,
    StartVerification,
    UpdateProfile,
    VerifyAtCounter,
)
from identity.eid import IdentifiedPerson, ProviderUnavailable
from identity.errors import (
    AlreadyVerified,
    Forbidden,
    IdentityInUse,
    IdentityLocked,
    IdentityMismatch,
    NotFound,
    ProviderUnreachable,
    VerificationExpired,
    VerificationUsed,
)
from identity.events import IdentityVerified
from identity.tables import Account, IdentityVerification, StaffAuditEntry, VerificationAttempt
from identity.testing import OTHER_CNP, VALID_CNP
from mai_chassis import Principal
from sqlalchemy import select

pytestmark = pytest.mark.unit

CALLBACK = "http://portal.test/account/verification/callback"
ANA = IdentifiedPerson(
    subject="bank-card-subject-1",
    cnp=VALID_CNP,
    last_name="Popescu",
    first_name="Ana",
    birth_date=date(1980, 1, 1),
    assurance="substantial",
)


class StubProvider:
    """An identification provider that identifies whom the test says (or cannot be reached)."""

    name = "bank-card"
    redirect_uris = (CALLBACK,)

    def __init__(self) -> None:
        self.person = ANA
        self.reachable = True

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str, redirect_uri: str) -> str:
        if not self.reachable:
            raise ProviderUnavailable("metadata unreachable")
        return f"https://bank.test/authorize?state={state}"

    def identify(self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> IdentifiedPerson:
        if not self.reachable:
            raise ProviderUnavailable("token endpoint unreachable")
        return self.person


@pytest.fixture
def provider() -> StubProvider:
    return StubProvider()


@pytest.fixture
def eid_deps(deps: Any, provider: StubProvider) -> Any:
    return replace(deps, providers={provider.name: provider})


def _citizen(account_id: Any) -> Principal:
    return Principal(subject=str(account_id), kind="citizen")


def _start(uow: Any, deps: Any, citizen_id: Any) -> dict[str, Any]:
    return handlers.start_verification(
        uow, deps, StartVerification(principal=_citizen(citizen_id), provider_name="bank-card")
    )


def test_a_matching_identity_from_the_provider_verifies_the_account_and_is_announced(uow, eid_deps, register, clock):
    citizen_id = register()
    started = _start(uow, eid_deps, citizen_id)
    assert started["authorization_url"].startswith("https://bank.test/")
    assert started["expires_at"] == clock.now() + timedelta(seconds=eid_deps.settings.verification_seconds)

    result = handlers.finish_verification(
        uow, eid_deps, FinishVerification(principal=_citizen(citizen_id), state=started["state"], code="the-code")
    )

    assert (result["method"], result["provider"], result["assurance_level"]) == (
        "eid_provider",
        "bank-card",
        "substantial",
    )
    account = uow.session.get(Account, citizen_id)
    assert account.verified_at is not None and account.assurance_level == "substantial"
    stored = uow.session.scalars(select(IdentityVerification)).one()
    assert ANA.subject not in (stored.subject_digest or "")
    [verified] = uow.events_of(IdentityVerified)
    assert (verified.citizen_id, verified.provider, verified.unit) == (citizen_id, "bank-card", None)
    [sent] = [e for e in uow.published if e.type == IdentityVerified.type]
    assert "unit" not in sent.data and sent.data["provider"] == "bank-card"  # no null where the contract has none


def test_a_different_person_is_refused_and_the_attempt_spent(uow, eid_deps, provider, register):
    citizen_id = register()
    started = _start(uow, eid_deps, citizen_id)
    provider.person = replace(ANA, cnp=OTHER_CNP, first_name="Maria")
    finish = FinishVerification(principal=_citizen(citizen_id), state=started["state"], code="the-code")

    with pytest.raises(IdentityMismatch) as refused:
        handlers.finish_verification(uow, eid_deps, finish)

    assert set(refused.value.extensions["fields"]) >= {"cnp", "first_name"}
    assert uow.session.get(Account, citizen_id).verified_at is None
    assert uow.session.scalars(select(VerificationAttempt)).one().outcome == "mismatch"
    assert uow.events_of(IdentityVerified) == []
    with pytest.raises(VerificationUsed):
        handlers.finish_verification(uow, eid_deps, finish)


def test_one_persons_identity_verifies_one_account(uow, eid_deps, register):
    first = register()
    second = register(email="ana.again@example.ro")
    for citizen_id in (first, second):
        started = _start(uow, eid_deps, citizen_id)
        finish = FinishVerification(principal=_citizen(citizen_id), state=started["state"], code="the-code")
        if citizen_id == first:
            handlers.finish_verification(uow, eid_deps, finish)
        else:
            with pytest.raises(IdentityInUse):
                handlers.finish_verification(uow, eid_deps, finish)
    assert len(uow.events_of(IdentityVerified)) == 1


def test_an_attempt_expires_by_the_clock_and_another_account_cannot_use_it(uow, eid_deps, register, clock):
    citizen_id = register()
    other = register(email="ion.ionescu@example.ro")
    started = _start(uow, eid_deps, citizen_id)

    with pytest.raises(NotFound):
        handlers.finish_verification(
            uow, eid_deps, FinishVerification(principal=_citizen(other), state=started["state"], code="c")
        )
    with pytest.raises(VerificationUsed):  # presenting it spent it
        handlers.finish_verification(
            uow, eid_deps, FinishVerification(principal=_citizen(citizen_id), state=started["state"], code="c")
        )

    again = _start(uow, eid_deps, citizen_id)
    clock.advance(timedelta(seconds=eid_deps.settings.verification_seconds + 1))
    with pytest.raises(VerificationExpired):
        handlers.finish_verification(
            uow, eid_deps, FinishVerification(principal=_citizen(citizen_id), state=again["state"], code="c")
        )


def test_an_unreachable_provider_leaves_nothing_started(uow, eid_deps, provider, register):
    citizen_id = register()
    provider.reachable = False

    with pytest.raises(ProviderUnreachable) as unreachable:
        _start(uow, eid_deps, citizen_id)

    assert unreachable.value.headers == {"Retry-After": "30"}
    assert uow.session.scalars(select(VerificationAttempt)).all() == []


def test_identity_fields_are_locked_while_a_verification_runs_and_free_once_it_expires(uow, eid_deps, register, clock):
    citizen_id = register()
    _start(uow, eid_deps, citizen_id)
    change = UpdateProfile(principal=_citizen(citizen_id), citizen_id="me", changes={"first_name": "Anca"})

    with pytest.raises(IdentityLocked) as locked:
        handlers.update_profile(uow, eid_deps, change)
    assert locked.value.extensions == {"fields": ["first_name"], "reason": "verification-pending"}

    clock.advance(timedelta(seconds=eid_deps.settings.verification_seconds + 1))
    assert handlers.update_profile(uow, eid_deps, change)["first_name"] == "Anca"


def test_a_counter_clerk_finds_the_citizen_by_code_and_verifies_with_the_document(uow, deps, register, staff_member):
    citizen_id = register()
    issued = handlers.issue_counter_code(uow, deps, IssueCounterCode(principal=_citizen(citizen_id)))
    clerk = staff_member("counter_clerk@SPCEP-B1")

    found = handlers.find_for_counter(
        uow, deps, FindForCounter(principal=clerk, unit="SPCEP-B1", counter_code=issued["counter_code"].lower())
    )
    assert found["citizen_id"] == str(citizen_id) and found["verified"] is False

    result = handlers.verify_at_counter(
        uow,
        deps,
        VerifyAtCounter(
            principal=clerk,
            citizen_id=str(citizen_id),
            unit="SPCEP-B1",
            document_type="identity_card",
            document_series="RX",
            document_number="123456",
            cnp=VALID_CNP,
            last_name="POPESCU",
            first_name="Ana",
        ),
    )

    assert (result["method"], result["assurance_level"]) == ("counter", "substantial")
    [verified] = uow.events_of(IdentityVerified)
    assert (verified.unit, verified.provider) == ("SPCEP-B1", None)
    stored = uow.session.scalars(select(IdentityVerification)).one()
    assert "123456" not in stored.document_number_sealed
    actions = [e.action for e in uow.session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id))]
    assert actions == ["counter.account_looked_up", "counter.identity_verified"]


def test_a_document_that_does_not_match_is_refused_and_audited(uow, deps, register, staff_member):
    citizen_id = register()
    clerk = staff_member("counter_clerk@SPCEP-B1")
    command = VerifyAtCounter(
        principal=clerk,
        citizen_id=str(citizen_id),
        unit="SPCEP-B1",
        document_type="passport",
        document_number="05123456",
        cnp=OTHER_CNP,
        last_name="Popescu",
        first_name="Ana",
    )

    with pytest.raises(IdentityMismatch):
        handlers.verify_at_counter(uow, deps, command)

    assert uow.session.get(Account, citizen_id).verified_at is None
    [entry] = uow.session.scalars(select(StaffAuditEntry)).all()
    assert entry.action == "counter.verification_refused" and OTHER_CNP not in (entry.details or "")


def test_only_a_clerk_of_the_unit_verifies_there_and_only_once(uow, deps, register, staff_member):
    citizen_id = register()
    command = VerifyAtCounter(
        principal=staff_member("counter_clerk@OTHER-UNIT", "admin@*"),
        citizen_id=str(citizen_id),
        unit="SPCEP-B1",
        document_type="identity_card",
        document_series="RX",
        document_number="123456",
        cnp=VALID_CNP,
        last_name="Popescu",
        first_name="Ana",
    )
    with pytest.raises(Forbidden):
        handlers.verify_at_counter(uow, deps, command)

    clerk = replace(command, principal=staff_member("counter_clerk@SPCEP-B1"))
    handlers.verify_at_counter(uow, deps, clerk)
    with pytest.raises(AlreadyVerified):
        handlers.verify_at_counter(uow, deps, clerk)
