"""Romania's legal calendar: public holidays (Labour Code art. 139), Orthodox Easter included."""

from __future__ import annotations

import functools
from datetime import date, timedelta

__all__ = ["EASTER_OFFSETS", "FIXED_PUBLIC_HOLIDAYS", "orthodox_easter", "romanian_public_holidays"]

#: (month, day) of the fixed public holidays.
FIXED_PUBLIC_HOLIDAYS = ((1, 1), (1, 2), (1, 6), (1, 7), (1, 24), (5, 1), (6, 1), (8, 15), (11, 30), (12, 1),
                         (12, 25), (12, 26))  # fmt: skip
#: Days relative to Orthodox Easter Sunday: Good Friday, Easter, Easter Monday, Pentecost and its Monday.
EASTER_OFFSETS = (-2, 0, 1, 49, 50)


def orthodox_easter(year: int) -> date:
    """Orthodox Easter Sunday (Meeus' Julian algorithm, converted to the Gregorian calendar)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month, day = divmod(d + e + 114, 31)
    julian = date(year, month, day + 1)
    return julian + timedelta(days=year // 100 - year // 400 - 2)


@functools.cache
def romanian_public_holidays(year: int) -> frozenset[date]:
    """Romania's public holidays (non-working days by law) in ``year``."""
    easter = orthodox_easter(year)
    fixed = {date(year, month, day) for month, day in FIXED_PUBLIC_HOLIDAYS}
    return frozenset(fixed | {easter + timedelta(days=offset) for offset in EASTER_OFFSETS})
