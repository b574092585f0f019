"""Certificate rules: validity, statuses, numbers, masking, CNPs, purposes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from record.domain import (
    VerificationResult,
    add_months,
    application_day,
    format_registration_number,
    is_valid_cnp,
    mask_name,
    normalise_registration_number,
    valid_until,
    verification_result,
)
from record.purposes import purpose_catalogue
from record.testing import make_cnp


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
