"""Counter officers: the applications referred to their units' counters, decided and issued there."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mai_chassis.testing.fakes import FakeUnitOfWork
from record.deps import RecordDeps
from record.domain import ReferralOutcome
from record.errors import HolderMismatch, ReferralAlreadyDecided, ReferralNotCleared, ReferralNotFound
from record.events import CertificateIssued, CertificateReferralDecided
from record.handlers import (
    DecideReferral,
    DownloadCertificate,
    FindCertificate,
    IssueAtCounter,
    ListReferrals,
    ShowReferral,
    certificate_history,
    decide_referral,
    download_certificate,
    issue_at_counter,
    list_referrals,
    show_referral,
)
from record.testing import make_cnp

pytestmark = pytest.mark.unit

OFFICER = "officer-7"


def _decide(referral_id: uuid.UUID, outcome: ReferralOutcome, *units: str) -> DecideReferral:
    return DecideReferral(
        certificate_id=referral_id,
        officer_id=OFFICER,
        officer_units=frozenset(units),
        outcome=outcome,
        note="homonym: different birth date",
    )


def _issue(referral_id: uuid.UUID, person: Any, *units: str, cnp: str | None = None) -> IssueAtCounter:
    return IssueAtCounter(
        certificate_id=referral_id,
        officer_id=OFFICER,
        officer_units=frozenset(units),
        cnp=cnp or person.cnp,
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=person.birth_date,
    )


def test_an_officer_lists_the_referrals_of_their_units_only_oldest_first(
    uow: FakeUnitOfWork, deps: RecordDeps, refer: Callable[..., Any]
) -> None:
    first, _ = refer("IPJ-CJ")
    elsewhere, _ = refer("IPJ-IS")
    second, _ = refer("IPJ-CJ")

    cluj = list_referrals(uow, deps, ListReferrals(officer_units=frozenset({"IPJ-CJ"})))
    assert [r.id for r in cluj] == [first.id, second.id]
    assert {r.state for r in cluj} == {"awaiting"} and cluj[0].reason == "registry_entry"
    national = list_referrals(uow, deps, ListReferrals(officer_units=frozenset({"*"}), unit="IPJ-IS"))
    assert [r.id for r in national] == [elsewhere.id]
    assert list_referrals(uow, deps, ListReferrals(officer_units=frozenset({"IPJ-CJ"}), unit="IPJ-IS")) == []


def test_another_units_officer_finds_no_such_referral(
    uow: FakeUnitOfWork, deps: RecordDeps, refer: Callable[..., Any]
) -> None:
    referral, person = refer("IPJ-CJ")
    with pytest.raises(ReferralNotFound):
        show_referral(uow, deps, ShowReferral(certificate_id=referral.id, officer_units=frozenset({"IPJ-IS"})))
    with pytest.raises(ReferralNotFound):
        decide_referral(uow, deps, _decide(referral.id, ReferralOutcome.CLEARED, "IPJ-IS"))
    with pytest.raises(ReferralNotFound):
        issue_at_counter(uow, deps, _issue(referral.id, person, "IPJ-IS"))
    assert show_referral(uow, deps, ShowReferral(certificate_id=referral.id, officer_units=frozenset({"IPJ-CJ"})))


def test_a_cleared_referral_is_issued_at_the_counter_as_a_signed_certificate_the_holder_downloads(
    uow: FakeUnitOfWork, deps: RecordDeps, refer: Callable[..., Any]
) -> None:
    referral, person = refer("IPJ-CJ")
    decided = decide_referral(uow, deps, _decide(referral.id, ReferralOutcome.CLEARED, "IPJ-CJ"))
    assert decided.state == "cleared" and decided.decision and decided.decision.decided_by == OFFICER
    (event,) = uow.events_of(CertificateReferralDecided)
    assert (event.outcome, event.unit) == ("cleared", "IPJ-CJ")

    commits = uow.commits
    certificate = issue_at_counter(uow, deps, _issue(referral.id, person, "IPJ-CJ"))
    assert uow.commits == commits + 1
    assert certificate.status == "valid" and certificate.issued_in_unit == "IPJ-CJ"
    assert certificate.issued_through == "counter"
    (issued,) = uow.events_of(CertificateIssued)
    assert issued.registration_number == certificate.registration_number
    printed = deps.maker.made[-1]  # type: ignore[attr-defined]
    assert printed.holder.cnp == person.cnp and printed.registration_number == certificate.registration_number
    pdf = download_certificate(uow, deps, DownloadCertificate(referral.citizen_id, referral.id))
    assert pdf.content.startswith(b"%PDF")

    history = certificate_history(
        uow, deps, FindCertificate(number=certificate.registration_number, clerk_units=frozenset({"IPJ-CJ"}))
    )
    assert [e.event for e in history.events] == ["requested", "referred", "referral_decided", "issued"]
    assert history.events[-1].by == OFFICER


def test_nothing_is_issued_before_the_referral_is_cleared_or_to_someone_else(
    uow: FakeUnitOfWork, deps: RecordDeps, refer: Callable[..., Any]
) -> None:
    referral, person = refer("IPJ-CJ")
    with pytest.raises(ReferralNotCleared):
        issue_at_counter(uow, deps, _issue(referral.id, person, "IPJ-CJ"))
    decide_referral(uow, deps, _decide(referral.id, ReferralOutcome.CLEARED, "IPJ-CJ"))
    with pytest.raises(HolderMismatch):
        issue_at_counter(uow, deps, _issue(referral.id, person, "IPJ-CJ", cnp=make_cnp()))
    assert uow.events_of(CertificateIssued) == [] and deps.store.files == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("outcome", [ReferralOutcome.ENTRY_CONFIRMED, ReferralOutcome.WITHDRAWN])
def test_an_entry_that_stands_or_a_withdrawal_closes_the_referral_without_a_certificate(
    uow: FakeUnitOfWork, deps: RecordDeps, refer: Callable[..., Any], outcome: ReferralOutcome
) -> None:
    referral, person = refer("IPJ-CJ")
    assert decide_referral(uow, deps, _decide(referral.id, outcome, "IPJ-CJ")).state == str(outcome)
    with pytest.raises(ReferralAlreadyDecided):
        decide_referral(uow, deps, _decide(referral.id, ReferralOutcome.CLEARED, "IPJ-CJ"))
    with pytest.raises(ReferralNotCleared):
        issue_at_counter(uow, deps, _issue(referral.id, person, "IPJ-CJ"))
    awaiting = list_referrals(uow, deps, ListReferrals(officer_units=frozenset({"IPJ-CJ"})))
    decided = list_referrals(uow, deps, ListReferrals(officer_units=frozenset({"IPJ-CJ"}), state="decided"))
    assert awaiting == [] and [r.id for r in decided] == [referral.id]
