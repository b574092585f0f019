"""Rules of petitions: registration numbers, legal deadlines and the calendar, state transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from mai_chassis.problems import problem_type_for
from mai_chassis.testing import samples
from petition import domain
from petition.domain import Closure, RegistrationNumber, Status
from petition.errors import (
    PROBLEMS,
    AttachmentRefused,
    ClosureNotAllowed,
    DeadlineAlreadyExtended,
    ExtensionTooLong,
    ForwardToSameInstitution,
    PetitionError,
    PetitionNotOpen,
)


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# --- numbering ----------------------------------------------------------------------------------


def test_registration_number_reads_institution_year_and_six_digit_sequence() -> None:
    assert str(RegistrationNumber("IGPR", 2026, 123)) == "IGPR-2026-000123"


def test_registration_number_round_trips_through_its_text() -> None:
    number = RegistrationNumber.parse(" igpr-2026-000123 ")
    assert number == RegistrationNumber("IGPR", 2026, 123)


@pytest.mark.parametrize("text", ["IGPR-26-000001", "IGPR-2026-12", "-2026-000001", "IGPR/2026/000001", ""])
def test_malformed_registration_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="registration number"):
        RegistrationNumber.parse(text)


def test_sequence_beyond_a_million_still_reads() -> None:
    assert str(RegistrationNumber("MAI", 2026, 1_234_567)) == "MAI-2026-1234567"


def test_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        RegistrationNumber("MAI", 2026, 0)


# --- calendar and deadlines ---------------------------------------------------------------------


def test_orthodox_easter_and_pentecost_are_public_holidays() -> None:
    holidays = domain.public_holidays(2026)
    # Orthodox Easter 2026 is on 12 April; Good Friday 10 April, Pentecost 31 May and 1 June.
    assert {date(2026, 4, 10), date(2026, 4, 12), date(2026, 4, 13), date(2026, 5, 31), date(2026, 6, 1)} <= holidays
    assert date(2026, 4, 5) not in holidays


def test_fixed_romanian_holidays_are_non_working_days() -> None:
    for day in [date(2026, 1, 24), date(2026, 12, 1), date(2026, 8, 15), date(2026, 11, 30)]:
        assert not domain.is_working_day(day)


def test_answer_is_due_thirty_calendar_days_after_registration() -> None:
    # Registered Saturday 14 March 2026 -> 30 days later is Monday 13 April... a holiday (Easter
    # Monday), so the deadline moves to Tuesday 14 April.
    assert domain.answer_due_on(at(2026, 3, 14)) == date(2026, 4, 14)
    # Registered Wednesday 4 March -> Friday 3 April, a working day.
    assert domain.answer_due_on(at(2026, 3, 4)) == date(2026, 4, 3)


def test_deadline_on_a_weekend_moves_to_monday() -> None:
    # 5 March 2026 + 30 days = Saturday 4 April -> Monday 6 April.
    assert domain.answer_due_on(at(2026, 3, 5)) == date(2026, 4, 6)


def test_registration_date_is_the_date_in_romania() -> None:
    # 23:30 UTC on 31 December is already 1 January in Bucharest: counted from 1 January.
    assert domain.local_date(at(2025, 12, 31, 23)) == date(2026, 1, 1)
    assert domain.answer_due_on(at(2025, 12, 31, 23)) == date(2026, 2, 2)  # 31 Jan is a Saturday


def test_forwarding_is_due_within_five_days() -> None:
    assert domain.forward_due_on(at(2026, 3, 2)) == date(2026, 3, 9)  # Saturday 7 March -> Monday 9
    assert domain.forward_due_on(at(2026, 3, 4)) == date(2026, 3, 9)


def test_deadline_can_be_extended_once_by_at_most_fifteen_days() -> None:
    extended = domain.extended_due_on(date(2026, 4, 3), 15, already_extended=False)
    assert extended == date(2026, 4, 20)  # 18 April is a Saturday
    with pytest.raises(DeadlineAlreadyExtended, match="already extended"):
        domain.extended_due_on(extended, 5, already_extended=True)


@pytest.mark.parametrize("days", [0, 16, -3])
def test_extension_outside_one_to_fifteen_days_is_refused(days: int) -> None:
    with pytest.raises(ExtensionTooLong) as refused:
        domain.extended_due_on(date(2026, 4, 3), days, already_extended=False)
    assert problem_type_for(type(refused.value), PROBLEMS).status == 422  # type: ignore[union-attr]


def test_answer_on_the_due_day_in_romania_is_within_deadline() -> None:
    due = date(2026, 4, 3)
    assert domain.within_deadline(datetime(2026, 4, 3, 20, 59, tzinfo=UTC), due)  # 23:59 in Bucharest
    assert not domain.within_deadline(datetime(2026, 4, 3, 21, 1, tzinfo=UTC), due)  # 00:01 next day


def test_only_open_petitions_past_their_deadline_are_overdue() -> None:
    due = date(2026, 4, 3)
    assert domain.is_overdue(Status.IN_PROGRESS, due, date(2026, 4, 4))
    assert not domain.is_overdue(Status.REGISTERED, due, date(2026, 4, 3))
    assert not domain.is_overdue(Status.ANSWERED, due, date(2026, 5, 1))


# --- transitions --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.ANSWERED, Status.CLOSED])
def test_a_closed_file_cannot_be_forwarded(status: Status) -> None:
    with pytest.raises(PetitionNotOpen, match="cannot be forwarded"):
        domain.require_can_forward(status, "MAI", "IGPR")


def test_forwarding_to_the_same_institution_is_refused() -> None:
    with pytest.raises(ForwardToSameInstitution, match="already at that institution"):
        domain.require_can_forward(Status.REGISTERED, "IGPR", "IGPR")


def test_only_opinions_can_be_closed_as_noted() -> None:
    domain.require_can_close(Status.REGISTERED, Closure.NOTED, kind="opinion")
    with pytest.raises(ClosureNotAllowed, match="must be answered"):
        domain.require_can_close(Status.REGISTERED, Closure.NOTED, kind="petition")


def test_answered_and_joined_are_not_closures_a_clerk_picks() -> None:
    for closure in (Closure.ANSWERED, Closure.JOINED):
        with pytest.raises(ClosureNotAllowed, match="action"):
            domain.require_can_close(Status.IN_PROGRESS, closure, kind="petition")


def _candidate(
    number: str, email: str = "ana@example.ro", institution: str = "IGPR", status: Status = Status.REGISTERED
) -> domain.JoinCandidate:
    return domain.JoinCandidate(number, number, institution, email, status)


def test_petitions_of_one_petitioner_at_one_institution_can_be_joined() -> None:
    domain.require_can_join(_candidate("A"), [_candidate("B"), _candidate("C", status=Status.IN_PROGRESS)])


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (_candidate("B", email="ion@example.ro"), "another petitioner"),
        (_candidate("B", institution="IGSU"), "another institution"),
        (_candidate("B", status=Status.ANSWERED), "cannot be joined"),
        (_candidate("A"), "itself"),
    ],
)
def test_joining_is_refused_across_petitioners_institutions_or_closed_files(
    other: domain.JoinCandidate, reason: str
) -> None:
    with pytest.raises(PetitionError, match=reason):
        domain.require_can_join(_candidate("A"), [other])


def test_same_words_with_other_case_accents_and_spacing_have_the_same_fingerprint() -> None:
    first = domain.content_fingerprint("Ana@Example.ro", "IGPR", "Semafor", "Semaforul  nu funcționează.")
    second = domain.content_fingerprint("ana@example.ro ", "IGPR", "semafor", "SEMAFORUL nu functioneaza.")
    assert first == second
    assert first != domain.content_fingerprint("ana@example.ro", "IGSU", "Semafor", "Semaforul nu funcționează.")


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (samples.sample_pdf(), "application/pdf"),
        (samples.sample_jpeg(), "image/jpeg"),
        (samples.sample_png(), "image/png"),
    ],
)
def test_attachment_type_is_read_from_its_content(head: bytes, media_type: str) -> None:
    assert domain.sniff_attachment_type(head) == media_type


def test_a_file_that_only_starts_like_a_pdf_is_not_an_attachment() -> None:
    with pytest.raises(AttachmentRefused):
        domain.sniff_attachment_type(b"%PDF-1.4\n<script>not really a document</script>")


def test_a_renamed_executable_is_not_an_attachment() -> None:
    with pytest.raises(AttachmentRefused) as refused:
        domain.sniff_attachment_type(b"MZ\x90\x00 pretending to be scan.pdf")
    assert problem_type_for(type(refused.value), PROBLEMS).status == 415  # type: ignore[union-attr]


# --- late forwards and reminders ----------------------------------------------------------------


def test_a_forward_on_its_last_day_in_romania_is_in_time_and_the_next_day_is_late() -> None:
    due = date(2026, 3, 19)
    # 23:30 in Bucharest on the last day (21:30 UTC) is still that day.
    assert not domain.forwarded_late(datetime(2026, 3, 19, 21, 30, tzinfo=UTC), due)
    assert domain.forwarded_late(datetime(2026, 3, 19, 22, 30, tzinfo=UTC), due)


def test_an_open_petition_forwarded_late_is_overdue_even_before_its_answer_deadline() -> None:
    today, due = date(2026, 4, 1), date(2026, 4, 20)
    assert domain.is_overdue(Status.IN_PROGRESS, due, today, forwarded_late=True)
    assert not domain.is_overdue(Status.IN_PROGRESS, due, today, forwarded_late=False)
    assert not domain.is_overdue(Status.ANSWERED, due, today, forwarded_late=True)


def test_reminder_day_counts_working_days_back_over_a_weekend() -> None:
    assert domain.reminder_day(date(2026, 11, 20), 3) == date(2026, 11, 17)  # Friday -> Tuesday
    assert domain.reminder_day(date(2026, 11, 23), 3) == date(2026, 11, 18)  # Monday -> Wednesday


def test_reminder_day_skips_public_holidays() -> None:
    # 30 November (Saint Andrew) and 1 December (National Day) are not working days.
    assert domain.reminder_day(date(2026, 12, 3), 3) == date(2026, 11, 26)


def test_a_reminder_is_due_from_its_day_up_to_the_deadline_and_not_a_day_earlier() -> None:
    due = date(2026, 11, 20)
    assert not domain.reminder_is_due(date(2026, 11, 16), due, 3)
    assert domain.reminder_is_due(date(2026, 11, 17), due, 3)
    assert domain.reminder_is_due(date(2026, 11, 20), due, 3)
    assert not domain.reminder_is_due(date(2026, 11, 21), due, 3)


def test_the_latest_deadline_to_remind_is_the_last_whose_reminder_day_has_come() -> None:
    # On Tuesday 17 November the reminders of deadlines up to Friday 20 are due; Monday 23's on Wednesday.
    assert domain.latest_deadline_to_remind(date(2026, 11, 17), 3) == date(2026, 11, 20)
    assert domain.reminder_day(date(2026, 11, 23), 3) > date(2026, 11, 17)


def test_working_days_left_count_the_deadline_and_not_today() -> None:
    assert domain.working_days_left(date(2026, 11, 17), date(2026, 11, 20)) == 3
    assert domain.working_days_left(date(2026, 11, 26), date(2026, 12, 3)) == 3
    assert domain.working_days_left(date(2026, 11, 20), date(2026, 11, 20)) == 0
