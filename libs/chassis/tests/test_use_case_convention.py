"""The use-case convention: typed events, the in-memory unit of work, the clock and domain errors."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from mai_chassis import DomainEvent, FixedClock, SystemClock, UnitOfWork
from mai_chassis.problems import DomainError, ProblemType, problem_for, problem_type_for
from mai_chassis.testing.fakes import FakeUnitOfWork
from mai_contracts import ContractViolation
from sqlalchemy import Integer, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

pytestmark = pytest.mark.unit

PETITION_ID = uuid.UUID("0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10")
REGISTERED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    JOINED = "joined"


@dataclass(frozen=True)
class PetitionClosed(DomainEvent):
    type: ClassVar[str] = "ro.mai.petition.closed.v1"
    subject_field: ClassVar[str] = "petition_id"

    petition_id: uuid.UUID
    registration_number: str
    institution: str
    field: str
    kind: str
    outcome: Outcome
    registered_at: datetime
    closed_at: datetime


def closed(outcome: Outcome = Outcome.ANSWERED, *, institution: str = "IGPR") -> PetitionClosed:
    return PetitionClosed(
        petition_id=PETITION_ID,
        registration_number="IGPR-2026-000123",
        institution=institution,
        field="road-traffic",
        kind="petition",
        outcome=outcome,
        registered_at=REGISTERED,
        closed_at=REGISTERED + timedelta(days=20),
    )


class Base(DeclarativeBase):
    metadata = MetaData()


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


def count(uow: UnitOfWork, name: str) -> None:
    """A use case written against the protocol: one row, one event, one commit."""
    uow.session.add(Counter(name=name, value=1))
    uow.publish(closed())
    uow.commit()


# --- typed events -----------------------------------------------------------------------------


def test_an_event_gives_json_ready_data_with_iso_times_uuid_strings_and_enum_values() -> None:
    assert closed().to_data() == {
        "petition_id": "0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10",
        "registration_number": "IGPR-2026-000123",
        "institution": "IGPR",
        "field": "road-traffic",
        "kind": "petition",
        "outcome": "answered",
        "registered_at": "2026-03-14T09:30:00Z",
        "closed_at": "2026-04-03T09:30:00Z",
    }


def test_instants_are_written_in_utc_and_naive_ones_read_from_sqlite_are_taken_as_utc() -> None:
    @dataclass(frozen=True)
    class Stamped(DomainEvent):
        type: ClassVar[str] = "ro.mai.example.stamped.v1"
        subject_field: ClassVar[str] = "id"

        id: str
        at: datetime
        stored: datetime

    bucharest = datetime(2026, 3, 14, 11, 30, tzinfo=ZoneInfo("Europe/Bucharest"))
    event = Stamped(id="x", at=bucharest, stored=datetime(2026, 3, 14, 9, 30))
    assert event.to_data() == {"id": "x", "at": "2026-03-14T09:30:00Z", "stored": "2026-03-14T09:30:00Z"}


def test_none_fields_are_kept_and_dates_are_iso_days() -> None:
    @dataclass(frozen=True)
    class Rescheduled(DomainEvent):
        type: ClassVar[str] = "ro.mai.example.rescheduled.v1"
        subject_field: ClassVar[str] = "appointment_id"

        appointment_id: int
        day: date
        note: str | None

    event = Rescheduled(appointment_id=7, day=date(2026, 5, 4), note=None)
    assert event.to_data() == {"appointment_id": 7, "day": "2026-05-04", "note": None}
    assert event.event_subject() == "7"


def test_fields_the_contract_makes_optional_are_left_out_when_none() -> None:
    @dataclass(frozen=True)
    class Closed(DomainEvent):
        type: ClassVar[str] = "ro.mai.example.closed.v1"
        subject_field: ClassVar[str] = "id"
        omitted_when_none: ClassVar[frozenset[str]] = frozenset({"related_id"})

        id: str
        related_id: str | None = None

    assert Closed(id="a").to_data() == {"id": "a"}
    assert Closed(id="a", related_id="b").to_data() == {"id": "a", "related_id": "b"}


def test_the_subject_is_the_value_of_the_subject_field() -> None:
    assert closed().event_subject() == str(PETITION_ID)


def test_an_event_naming_a_missing_subject_field_is_refused() -> None:
    @dataclass(frozen=True)
    class Misnamed(DomainEvent):
        type: ClassVar[str] = "ro.mai.petition.closed.v1"
        subject_field: ClassVar[str] = "id"

        petition_id: str

    with pytest.raises(TypeError, match="subject_field must name one of its fields"):
        Misnamed(petition_id="x").event_subject()


# --- the fake unit of work --------------------------------------------------------------------


def test_committed_events_are_published_with_their_subject_as_key() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    count(uow, "a")
    assert uow.commits == 1
    [published] = uow.published
    assert published.type == "ro.mai.petition.closed.v1"
    assert published.subject == published.key == str(PETITION_ID)
    assert published.data["outcome"] == "answered"
    assert uow.events_of(PetitionClosed) == [closed()]
    assert uow.session.scalars(select(Counter.name)).all() == ["a"]


def test_an_event_that_breaks_its_contract_is_refused_on_publish_as_by_the_real_outbox() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    with pytest.raises(ContractViolation):
        uow.publish(closed(institution="not a code!"))
    # joined needs related_petition_id (a conditional rule of the schema)
    with pytest.raises(ContractViolation):
        uow.publish(closed(Outcome.JOINED))
    uow.commit()
    assert uow.published == []


def test_an_event_type_no_topic_carries_is_refused() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    with pytest.raises(KeyError, match="no topic carries"):
        uow.publish("ro.mai.petition.vanished.v1", subject="x", data={})


def test_rollback_discards_the_pending_events_and_rows() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    uow.session.add(Counter(name="a", value=1))
    uow.publish(closed())
    uow.rollback()
    uow.commit()
    assert uow.published == []
    assert uow.session.scalars(select(Counter)).all() == []


def test_leaving_the_block_without_commit_rolls_back_and_later_transactions_still_work() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    with pytest.raises(RuntimeError), uow:
        uow.session.add(Counter(name="lost", value=1))
        uow.publish(closed())
        raise RuntimeError("the handler failed")
    assert uow.published == [] and uow.commits == 0
    with uow:
        count(uow, "kept")
    assert uow.commits == 1
    assert uow.published_types == ["ro.mai.petition.closed.v1"]
    assert uow.session.scalars(select(Counter.name)).all() == ["kept"]


def test_the_old_string_form_of_publish_is_validated_and_published_too() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    event_id = uow.publish("ro.mai.petition.closed.v1", subject="s-1", data=closed().to_data(), key="k-1")
    uow.commit()
    [published] = uow.published
    assert (published.id, published.subject, published.key, published.event) == (event_id, "s-1", "k-1", None)


def test_a_typed_event_carries_its_own_subject_and_takes_no_other() -> None:
    uow = FakeUnitOfWork(Base.metadata)
    with pytest.raises(TypeError, match="takes no subject"):
        uow.publish(closed(), subject="other")  # type: ignore[call-overload]


def test_the_fake_reads_time_from_the_clock_it_is_given() -> None:
    clock = FixedClock(REGISTERED)
    assert FakeUnitOfWork(Base.metadata, clock=clock).clock.now() == REGISTERED


# --- the clock --------------------------------------------------------------------------------


def test_a_fixed_clock_stands_still_until_advanced() -> None:
    clock = FixedClock(datetime(2026, 12, 31, 21, 59, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 12, 31, 21, 59, tzinfo=UTC)
    assert clock.today() == date(2026, 12, 31)
    clock.advance(timedelta(minutes=2))  # 00:01 on 1 January in Bucharest
    assert clock.now() == datetime(2026, 12, 31, 22, 1, tzinfo=UTC)
    assert clock.today() == date(2027, 1, 1)


def test_a_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 1, 1, 12, 0))


def test_the_system_clock_answers_in_utc() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)


# --- domain errors ----------------------------------------------------------------------------


class PetitionError(DomainError):
    pass


class PetitionNotFound(PetitionError):
    pass


class DeadlineAlreadyExtended(PetitionError):
    pass


class FinalDeadlineExtension(DeadlineAlreadyExtended):
    pass


PROBLEMS = {
    PetitionNotFound: ProblemType(404, "petition-not-found"),
    DeadlineAlreadyExtended: ProblemType(409, "deadline-already-extended", "The deadline was extended once"),
    PetitionError: ProblemType(422, "petition-rule-broken"),
}


def test_the_nearest_class_in_the_mro_decides_the_problem_type() -> None:
    assert problem_type_for(PetitionNotFound, PROBLEMS) == ProblemType(404, "petition-not-found")
    assert problem_type_for(FinalDeadlineExtension, PROBLEMS) == PROBLEMS[DeadlineAlreadyExtended]
    assert problem_type_for(PetitionError, PROBLEMS) == ProblemType(422, "petition-rule-broken")
    assert problem_type_for(DomainError, PROBLEMS) is None


def test_a_domain_error_becomes_a_problem_with_its_message_as_detail_and_its_extensions() -> None:
    error = FinalDeadlineExtension("Extended on 2 March already.", extensions={"extended_on": "2026-03-02"})
    body = problem_for(error, PROBLEMS).to_dict()
    assert body == {
        "type": "https://e-services.mai.gov.ro/problems/deadline-already-extended",
        "title": "The deadline was extended once",
        "status": 409,
        "detail": "Extended on 2 March already.",
        "extended_on": "2026-03-02",
    }


def test_a_domain_error_missing_from_the_table_is_an_internal_error() -> None:
    class Unmapped(DomainError):
        pass

    problem = problem_for(Unmapped("hidden detail"), PROBLEMS)
    assert problem.status == 500
    assert "hidden detail" not in str(problem.to_dict())


def test_a_problem_type_is_a_client_or_server_error_with_a_slug() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        ProblemType(302, "moved")
    with pytest.raises(ValueError, match="slug"):
        ProblemType(404, "not found")
