"""Intake: a clerk registers a petition received by post, by e-mail or at a counter; its receipt."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from mai_chassis import FixedClock
from mai_chassis.testing.fakes import FakeUnitOfWork
from petition.deps import PetitionDeps
from petition.errors import ImplausibleReceiptDate, NoAddressToAnswer, NotYourInstitution, PetitionNotFound
from petition.events import PetitionSubmitted, Recipient
from petition.handlers import (
    AnswerPetition,
    PetitionReceipt,
    RegisterReceivedPetition,
    StatusLookup,
    answer_petition,
    look_up_status,
    print_receipt,
    register_received_petition,
)
from petition.tables import Petition

from .conftest import REGISTERED, clerk_of

pytestmark = pytest.mark.unit

CLERK = clerk_of("IGPR", subject="clerk-igpr")


def received(**changes: Any) -> RegisterReceivedPetition:
    values: dict[str, Any] = {
        "clerk": CLERK,
        "channel": "post",
        "kind": "petition",
        "institution": "IGPR",
        "field": "road-traffic",
        "subject": "Indicator rupt",
        "text": "Indicatorul de pe strada Morilor din Brăila este rupt de două săptămâni.",
        "name": "Ion Ionescu",
        "address": "Str. Morilor 12, Brăila",
        "received_on": date(2026, 10, 19),
    }
    values.update(changes)
    return RegisterReceivedPetition(**values)


@pytest.fixture
def take_in(uow: FakeUnitOfWork, deps: PetitionDeps) -> Callable[..., Petition]:
    def take_in(**changes: Any) -> Petition:
        return register_received_petition(uow, deps, received(**changes))

    return take_in


def pdf_text(content: bytes, tmp_path: Any) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: install Debian's poppler-utils"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(content)
    return subprocess.run([pdftotext, str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_a_paper_petition_takes_the_next_number_and_its_terms_run_from_registration(
    uow: FakeUnitOfWork, submit: Callable[..., Petition], take_in: Callable[..., Petition]
) -> None:
    online = submit()
    paper = take_in()
    assert (online.registration_number, paper.registration_number) == ("IGPR-2026-000001", "IGPR-2026-000002")
    assert (paper.channel, paper.received_on, paper.registered_by) == ("post", date(2026, 10, 19), "clerk-igpr")
    # Received on Monday 19 October, registered on Wednesday 21: 30 days from the registration.
    assert (paper.registered_at, paper.answer_due_on) == (REGISTERED, date(2026, 11, 20))
    assert paper.forward_due_on == date(2026, 10, 26)
    [_, announced] = uow.events_of(PetitionSubmitted)
    assert (announced.channel, announced.received_on, announced.recipient) == ("post", date(2026, 10, 19), None)
    assert "recipient" not in uow.published[-1].data  # nobody to mail: the receipt is printed


def test_with_an_address_the_petitioner_is_mailed_as_for_the_online_form(
    uow: FakeUnitOfWork, take_in: Callable[..., Petition]
) -> None:
    petition = take_in(channel="email", email=" Ion.Ionescu@Example.ro", address=None, language="en")
    [announced] = uow.events_of(PetitionSubmitted)
    assert announced.recipient == Recipient(email="ion.ionescu@example.ro", name="Ion Ionescu", language="en")
    assert announced.channel == "email"
    assert petition.petitioner_email == "ion.ionescu@example.ro"


def test_a_counter_petition_is_received_on_the_day_of_registration_unless_told(
    take_in: Callable[..., Petition],
) -> None:
    assert take_in(channel="counter", received_on=None).received_on == date(2026, 10, 21)


def test_a_petition_without_any_address_to_answer_to_is_not_registered(
    uow: FakeUnitOfWork, take_in: Callable[..., Petition]
) -> None:
    with pytest.raises(NoAddressToAnswer):
        take_in(email=None, address="  ")
    assert uow.commits == 0 and uow.published == []


@pytest.mark.parametrize("received_on", [date(2026, 10, 22), date(2026, 10, 21) - timedelta(days=91)])
def test_a_day_received_after_registration_or_long_before_is_refused(
    uow: FakeUnitOfWork, take_in: Callable[..., Petition], received_on: date
) -> None:
    with pytest.raises(ImplausibleReceiptDate):
        take_in(received_on=received_on)
    assert uow.commits == 0


def test_only_a_clerk_of_the_registering_institution_takes_a_petition_in(
    uow: FakeUnitOfWork, take_in: Callable[..., Petition]
) -> None:
    with pytest.raises(NotYourInstitution):
        take_in(clerk=clerk_of("IGSU"))
    with pytest.raises(NotYourInstitution):
        take_in(institution="IGSU", field="emergencies")  # a clerk of IGPR, not of IGSU
    assert uow.commits == 0


def test_two_postal_petitioners_with_the_same_words_are_not_repeats_of_each_other(
    uow: FakeUnitOfWork, deps: PetitionDeps, take_in: Callable[..., Petition]
) -> None:
    first = take_in()
    answer_petition(uow, deps, AnswerPetition(first.registration_number, CLERK, "Indicatorul a fost înlocuit."))
    other = take_in(name="Maria Pop", address="Str. Dunării 3, Brăila")
    assert (other.status, other.repeat_of) == ("registered", None)
    again = take_in()  # the same petitioner, the same words, after the answer
    assert again.repeat_of is not None
    assert (again.status, again.closure, again.repeat_of.id) == ("closed", "repeat", first.id)


def test_a_petition_answered_by_post_cannot_be_looked_up_with_an_email(
    uow: FakeUnitOfWork, deps: PetitionDeps, take_in: Callable[..., Petition]
) -> None:
    number = take_in().registration_number
    with pytest.raises(PetitionNotFound):
        look_up_status(uow, deps, StatusLookup(number, "ion@example.ro"))


def test_the_receipt_names_the_number_dates_institution_and_deadline(
    uow: FakeUnitOfWork, deps: PetitionDeps, take_in: Callable[..., Petition], tmp_path: Any
) -> None:
    number = take_in().registration_number
    receipt = print_receipt(uow, deps, PetitionReceipt(number, CLERK))
    assert receipt.content.startswith(b"%PDF-") and receipt.file_name == f"receipt-{number}.pdf"
    text = pdf_text(receipt.content, tmp_path)
    assert number in text
    assert "Inspectoratul General al Poliției Române" in text
    assert "19.10.2026, prin poștă" in text  # received
    assert "21.10.2026 12:00" in text  # registered, in Bucharest
    assert "20.11.2026" in text  # the answer deadline
    assert "prin poștă" in text and "Ion Ionescu" in text


def test_another_institutions_clerk_gets_no_receipt(
    uow: FakeUnitOfWork, deps: PetitionDeps, take_in: Callable[..., Petition], clock: FixedClock
) -> None:
    number = take_in().registration_number
    with pytest.raises(NotYourInstitution):
        print_receipt(uow, deps, PetitionReceipt(number, clerk_of("IGSU")))
    with pytest.raises(PetitionNotFound):
        print_receipt(uow, deps, PetitionReceipt("IGPR-2026-999999", CLERK))
