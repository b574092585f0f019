"""Romania's public holidays, Orthodox Easter included."""

from __future__ import annotations

from datetime import date

import pytest
from mai_chassis.holidays import orthodox_easter, romanian_public_holidays


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, date(2024, 5, 5)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 12))]
)
def test_orthodox_easter_falls_on_the_published_sunday(year: int, easter: date) -> None:
    assert orthodox_easter(year) == easter


def test_the_2026_holidays_include_good_friday_pentecost_and_saint_andrew() -> None:
    holidays = romanian_public_holidays(2026)
    assert {date(2026, 4, 10), date(2026, 5, 31), date(2026, 6, 1), date(2026, 11, 30)} <= holidays
    assert date(2026, 4, 14) not in holidays
