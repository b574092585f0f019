"""Certificate rules: validity, statuses, numbers, masking, CNPs, purposes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from record.domain import (
    VERIFICATION_CODE_ALPHABET,
    FailureBudget,
    VerificationAttempts,
    VerificationResult,
    add_months,
    application_day,
    canonical_verification_code,
    format_registration_number,
    format_verification_code,
    is_valid_cnp,
    mask_name,
    new_verification_code,
    normalise_registration_number,
    valid_until,
    verification_result,
)
from record.purposes import purpose_catalogue
from record_testing import make_cnp


def test_a_certificate_is_valid_for_six_calendar_months() -> None:
    issued = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    assert valid_until(issued) == datetime(2025, 9, 14, 10, 0, tzinfo=UTC)


def test_six_months_after_the_31st_of_august_is_the_last_day_of_february() -> None:
    assert add_months(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2023, 8, 31, tzinfo=UTC), 6) == datetime(2024, 2, 29, tzinfo=UTC)


def test_verification_says_valid_then_expired_at_the_end_of_validity() -> None:
    issued = datetime(2025, 3, 14, tzinfo=UTC)
    until = valid_until(issued)
    assert verification_result("issued", until, until - timedelta(seconds=1)) is VerificationResult.VALID
    assert verification_result("issued", until, until) is VerificationResult.EXPIRED


def test_a_revoked_certificate_verifies_as_revoked_even_after_expiry() -> None:
    until = datetime(2025, 9, 14, tzinfo=UTC)
    assert verification_result("revoked", until, until + timedelta(days=1)) is VerificationResult.REVOKED


def test_a_referred_application_has_no_certificate_to_verify() -> None:
    assert verification_result("referred", None, datetime.now(UTC)) is VerificationResult.NOT_FOUND


def test_a_stored_time_without_zone_is_read_as_utc() -> None:
    until = datetime(2025, 9, 14)
    assert verification_result("issued", until, datetime(2025, 9, 13, tzinfo=UTC)) is VerificationResult.VALID


def test_the_application_day_is_the_romanian_calendar_day() -> None:
    late_evening_utc = datetime(2025, 3, 14, 22, 30, tzinfo=UTC)  # 00:30 on the 15th in Bucharest
    assert application_day(late_evening_utc).day == 15


def test_registration_numbers_are_printed_with_year_and_padded_sequence() -> None:
    assert format_registration_number(2025, 4512) == "CJ-2025-0004512"


def test_a_typed_registration_number_is_normalised_and_nonsense_rejected() -> None:
    assert normalise_registration_number(" cj-2025-0004512 ") == "CJ-2025-0004512"
    assert normalise_registration_number("DROP TABLE") is None


def test_the_holders_name_is_masked_to_initials() -> None:
    assert mask_name("Ion Popescu") == "I*** P***"
    assert mask_name("Ștefan  Țăranu") == "Ș*** Ț***"


def test_cnp_check_digit_is_enforced() -> None:
    cnp = make_cnp()
    assert is_valid_cnp(cnp)
    wrong = cnp[:12] + str((int(cnp[12]) + 1) % 10)
    assert not is_valid_cnp(wrong)
    assert not is_valid_cnp("12345")


def test_purpose_other_needs_its_text_and_other_purposes_drop_it() -> None:
    catalogue = purpose_catalogue()
    with pytest.raises(ValueError, match="description"):
        catalogue.resolve("other", "  ")
    assert catalogue.resolve("other", "concurs")[1] == "concurs"
    assert catalogue.resolve("employment", "ignored")[1] is None
    assert {p.code for p in catalogue} >= {"employment", "studies", "abroad-visa", "adoption", "firearms-permit"}


def test_a_verification_code_is_twelve_unambiguous_symbols_printed_in_groups() -> None:
    codes = {new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 12 and set(c) <= set(VERIFICATION_CODE_ALPHABET) for c in codes)
    assert not set("ILOU") & set(VERIFICATION_CODE_ALPHABET)
    assert format_verification_code("7K2QMXPA9D4T") == "7K2Q-MXPA-9D4T"


def test_a_typed_verification_code_forgives_case_spaces_dashes_and_look_alikes() -> None:
    assert canonical_verification_code(" 7k2q-mxpa 9d4t ") == "7K2QMXPA9D4T"
    assert canonical_verification_code("O1IL-0000-0000") == "0111" + "0" * 8
    assert canonical_verification_code("7K2Q-MXPA-9D4") is None
    assert canonical_verification_code("7K2Q-MXPA-9D4U") is None


def test_the_fifth_wrong_cnp_in_a_window_locks_and_each_lock_that_follows_doubles() -> None:
    budget = FailureBudget(failures=5, window=timedelta(hours=24), lock=timedelta(hours=24), max_lock=timedelta(days=3))
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    attempts = VerificationAttempts()
    for minute in range(4):
        attempts = attempts.after_failure(start + timedelta(minutes=minute), budget)
        assert attempts.seconds_locked(start + timedelta(minutes=minute)) == 0
    attempts = attempts.after_failure(start + timedelta(minutes=4), budget)
    assert attempts.seconds_locked(start + timedelta(minutes=4)) == 24 * 3600
    after_lock = start + timedelta(minutes=4, hours=24)
    assert attempts.seconds_locked(after_lock) == 0
    for minute in range(5):
        attempts = attempts.after_failure(after_lock + timedelta(minutes=minute), budget)
    assert attempts.seconds_locked(after_lock + timedelta(minutes=4)) == 48 * 3600
    later = after_lock + timedelta(minutes=4, hours=48)
    for minute in range(5):
        attempts = attempts.after_failure(later + timedelta(minutes=minute), budget)
    assert attempts.seconds_locked(later + timedelta(minutes=4)) == 72 * 3600, "capped at max_lock"


def test_wrong_cnps_spread_wider_than_the_window_never_lock_and_a_quiet_window_forgets_locks() -> None:
    budget = FailureBudget()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    attempts = VerificationAttempts()
    for day in range(10):
        attempts = attempts.after_failure(start + timedelta(days=day, minutes=1), budget)
        assert attempts.seconds_locked(start + timedelta(days=day, minutes=1)) == 0
    locked = VerificationAttempts(locked_until=start, locks=3)
    quiet = start + budget.window + timedelta(seconds=1)
    for second in range(5):
        locked = locked.after_failure(quiet + timedelta(seconds=second), budget)
    assert locked.seconds_locked(quiet + timedelta(seconds=4)) == 24 * 3600
    assert locked.forgotten_after(budget) == quiet + timedelta(seconds=4) + 2 * budget.window
