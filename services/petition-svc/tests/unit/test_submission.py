"""Submitting a petition: numbering, deadlines, repeats, and the quotas on attachments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from mai_chassis import FixedClock
from mai_chassis.challenges import ProofOfWork, solve_proof_of_work
from mai_chassis.testing import samples
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.deps import PetitionDeps
from petition.errors import ChallengeRequired, SubmissionQuotaExceeded, UnknownInstitution
from petition.events import PetitionClosed, PetitionSubmitted, Recipient
from petition.handlers import Sender, UploadedAttachment, submit_petition
from petition.quotas import AttachmentQuotas
from petition.tables import Petition, SubmissionQuota
from sqlalchemy import func, select

from .conftest import REGISTERED, petition_form

pytestmark = pytest.mark.unit

PDF = UploadedAttachment(content=samples.sample_pdf(), media_type="application/pdf", display_name="scan.pdf")
ANONYMOUS = Sender(client_address="198.51.100.7")
CITIZEN_ID = "7d1f0e4b-2c54-4bd3-9d0c-3f5a3b2a9e11"


def count(uow: FakeUnitOfWork, table: type) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_petition_is_registered_at_once_with_its_number_and_deadlines_and_announced(
    uow: FakeUnitOfWork, submit: Callable[..., Petition]
) -> None:
    petition = submit()
    assert petition.registration_number == "IGPR-2026-000001"
    assert (petition.status, petition.registered_at) == ("registered", REGISTERED)
    assert (petition.answer_due_on, petition.forward_due_on) == (date(2026, 11, 20), date(2026, 10, 26))
    assert uow.commits == 1
    [announced] = uow.events_of(PetitionSubmitted)
    assert announced.registration_number == "IGPR-2026-000001"
    assert announced.recipient == Recipient(email="ana.popescu@example.ro", name="Ana Popescu", language="ro")
    assert announced.citizen_id is None and "citizen_id" not in uow.published[0].data


def test_numbers_follow_each_other_per_institution_and_start_again_each_year(
    clock: FixedClock, submit: Callable[..., Petition]
) -> None:
    numbers = [submit(subject=f"Sesizarea {i}").registration_number for i in range(2)]
    numbers.append(submit(institution="IGSU", field="emergencies").registration_number)
    clock.set(REGISTERED.replace(year=2027))
    numbers.append(submit(subject="Anul următor").registration_number)
    assert numbers == ["IGPR-2026-000001", "IGPR-2026-000002", "IGSU-2026-000001", "IGPR-2027-000001"]


def test_a_signed_in_citizens_petition_carries_their_account_id(
    uow: FakeUnitOfWork, submit: Callable[..., Petition]
) -> None:
    citizen = Sender(client_address="198.51.100.7", account_id=CITIZEN_ID, account_kind="citizen")
    petition = submit(sender=citizen)
    assert petition.citizen_id == citizen.account_id
    assert uow.events_of(PetitionSubmitted)[0].citizen_id == citizen.account_id


def test_the_same_words_after_an_answer_are_filed_at_once_as_a_repeat(
    uow: FakeUnitOfWork, submit: Callable[..., Petition]
) -> None:
    first = uow.session.get(Petition, submit().id)
    assert first is not None
    first.status, first.answered_at = "answered", REGISTERED
    uow.commit()
    repeat = submit(subject="SEMAFOR DEFECT")
    assert (repeat.status, repeat.closure, repeat.repeat_of) == ("closed", "repeat", first)
    assert uow.session.get(Petition, repeat.id).repeat_of is first  # type: ignore[union-attr]
    submitted, closed = uow.published[-2:]
    assert submitted.data["repeat_of_registration_number"] == first.registration_number
    assert closed.event == PetitionClosed.of(repeat, at=REGISTERED, related=first)


def test_an_institution_missing_from_the_directory_is_refused_and_nothing_is_written(
    uow: FakeUnitOfWork, deps: PetitionDeps
) -> None:
    with pytest.raises(UnknownInstitution):
        submit_petition(uow, deps, petition_form(institution="NOPE"))
    assert count(uow, Petition) == 0 and uow.published == []


def test_attachments_are_kept_under_their_content_hash(uow: FakeUnitOfWork, deps: PetitionDeps) -> None:
    petition = submit_petition(uow, deps, petition_form(attachments=(PDF, PDF), sender=ANONYMOUS))
    assert [(a.position, a.display_name) for a in petition.attachments] == [(1, "scan.pdf"), (2, "scan.pdf")]
    assert deps.store.read(petition.attachments[0].sha256) == PDF.content
    assert uow.published[0].data["attachment_count"] == 2


def test_a_client_past_its_quota_is_told_when_to_try_again_and_nothing_is_stored(
    uow: FakeUnitOfWork, deps: PetitionDeps, clock: FixedClock
) -> None:
    deps = replace(deps, quotas=AttachmentQuotas(window=timedelta(hours=24), petitions_per_client=2))
    for i in range(2):
        submit_petition(uow, deps, petition_form(subject=f"Sesizarea {i}", attachments=(PDF,), sender=ANONYMOUS))
        clock.advance(timedelta(hours=1))
    with pytest.raises(SubmissionQuotaExceeded) as refused:
        submit_petition(uow, deps, petition_form(subject="A treia", attachments=(PDF,), sender=ANONYMOUS))
    assert refused.value.quota == "client"
    assert refused.value.retry_after == 22 * 3600  # the window opened with the first, two hours ago
    uow.rollback()  # what the view's unit of work does on the way out
    assert count(uow, Petition) == 2 and len(uow.published) == 2
    # Without attachments the same client is not limited here (the gateway's rate limit is).
    submit_petition(uow, deps, petition_form(subject="Fără anexe", sender=ANONYMOUS))


def test_an_address_receives_at_most_its_quota_from_any_clients_but_a_citizen_writing_from_it_is_a_client(
    uow: FakeUnitOfWork, deps: PetitionDeps
) -> None:
    deps = replace(deps, quotas=AttachmentQuotas(petitions_per_recipient=1))
    submit_petition(uow, deps, petition_form(attachments=(PDF,), sender=Sender(client_address="198.51.100.1")))
    with pytest.raises(SubmissionQuotaExceeded) as refused:
        submit_petition(
            uow, deps, petition_form(subject="Alta", attachments=(PDF,), sender=Sender(client_address="198.51.100.2"))
        )
    assert refused.value.quota == "recipient"
    uow.rollback()
    owner = Sender(
        client_address="198.51.100.3",
        account_id=CITIZEN_ID,
        account_kind="citizen",
        account_email="Ana.Popescu@example.ro",
    )
    submit_petition(uow, deps, petition_form(subject="A mea", attachments=(PDF,), sender=owner))
    assert count(uow, Petition) == 2


def test_past_the_threshold_an_anonymous_client_solves_a_challenge_once_per_petition(
    uow: FakeUnitOfWork, deps: PetitionDeps
) -> None:
    deps = replace(deps, challenge=ProofOfWork(b"k" * 32, bits=4))
    deps = replace(deps, settings=replace(deps.settings, submission_challenge_after=1))
    submit_petition(uow, deps, petition_form(subject="Prima", attachments=(PDF,), sender=ANONYMOUS))
    with pytest.raises(ChallengeRequired) as asked:
        submit_petition(uow, deps, petition_form(subject="A doua", attachments=(PDF,), sender=ANONYMOUS))
    uow.rollback()
    solved = replace(ANONYMOUS, proof_of_work=solve_proof_of_work(asked.value.extensions["challenge"]))
    submit_petition(uow, deps, petition_form(subject="A doua", attachments=(PDF,), sender=solved))
    with pytest.raises(ChallengeRequired):  # the same solution is spent
        submit_petition(uow, deps, petition_form(subject="A treia", attachments=(PDF,), sender=solved))
    uow.rollback()
    assert count(uow, Petition) == 2
    assert uow.session.scalar(select(SubmissionQuota.petitions).where(SubmissionQuota.scope.like("client:%"))) == 2
