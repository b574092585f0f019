"""What the immigration pages share: reference data from the API, words for codes, dates, slot lists."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask import abort
from flask_babel import get_locale, lazy_gettext
from mai_webkit.api import ApiProblem, api

__all__ = [
    "APPLICATION_STATUSES",
    "APPOINTMENT_STATUSES",
    "DOCUMENT_STATUSES",
    "OFFICE_TIME_ZONE",
    "SLOT_SEARCH_DAYS",
    "TIMELINE_EVENTS",
    "SlotDay",
    "application_types",
    "check_id",
    "day_label",
    "language",
    "local_date",
    "local_datetime",
    "local_time",
    "localized",
    "office",
    "offices",
    "slot_days",
    "status_colour",
]

OFFICE_TIME_ZONE = ZoneInfo("Europe/Bucharest")
#: How many days one page of free slots covers.
SLOT_SEARCH_DAYS = 7
#: Reference data (application types, offices) changes with a release, not by the minute.
REFERENCE_CACHE_SECONDS = 300.0

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

APPLICATION_STATUSES: Mapping[str, Any] = {
    "draft": lazy_gettext("Draft: upload your documents"),
    "submitted": lazy_gettext("Submitted: the documents are being checked"),
    "changes_requested": lazy_gettext("Changes requested: replace the rejected documents"),
    "documents_accepted": lazy_gettext("Documents accepted: book an appointment"),
    "appointment_booked": lazy_gettext("Appointment booked"),
    "ready_for_pickup": lazy_gettext("Ready to be picked up"),
    "closed": lazy_gettext("Closed: document picked up"),
}
#: What each timeline entry says happened.
TIMELINE_EVENTS: Mapping[str, Any] = {
    "draft": lazy_gettext("Application started"),
    "submitted": lazy_gettext("Application submitted"),
    "changes_requested": lazy_gettext("Some documents were rejected"),
    "documents_accepted": lazy_gettext("Every document was accepted"),
    "appointment_booked": lazy_gettext("Appointment booked"),
    "appointment_cancelled": lazy_gettext("Appointment cancelled"),
    "biometrics_taken": lazy_gettext("Biometric data taken at the counter"),
    "ready_for_pickup": lazy_gettext("Document ready to be picked up"),
    "picked_up": lazy_gettext("Document picked up"),
    "closed": lazy_gettext("Application closed"),
}
DOCUMENT_STATUSES: Mapping[str, Any] = {
    "missing": lazy_gettext("Not uploaded"),
    "uploaded": lazy_gettext("Uploaded"),
    "accepted": lazy_gettext("Accepted"),
    "rejected": lazy_gettext("Rejected"),
}
APPOINTMENT_STATUSES: Mapping[str, Any] = {
    "booked": lazy_gettext("Booked"),
    "cancelled": lazy_gettext("Cancelled"),
    "attended": lazy_gettext("Attended"),
}
_COLOURS = {
    "draft": "grey",
    "missing": "grey",
    "submitted": "blue",
    "uploaded": "blue",
    "changes_requested": "red",
    "rejected": "red",
    "cancelled": "red",
    "documents_accepted": "green",
    "accepted": "green",
    "appointment_booked": "green",
    "booked": "green",
    "ready_for_pickup": "green",
    "attended": "grey",
    "closed": "grey",
}


def status_colour(status: str) -> str:
    return _COLOURS.get(status, "blue")


def language() -> str:
    return str(get_locale() or "ro")


def localized(names: Mapping[str, str]) -> str:
    """A ``{"ro": ..., "en": ...}`` name in the page's language."""
    return names.get(language()) or names.get("ro") or next(iter(names.values()), "")


def check_id(value: str) -> str:
    """An application or appointment id from a URL: a UUID, else the page does not exist."""
    if not _UUID.match(value):
        abort(404)
    return value.lower()


# --- dates and times, always in the offices' time zone ----------------------------------------------


def _moment(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(OFFICE_TIME_ZONE)


def local_datetime(value: str | datetime | None) -> str:
    if not value:
        return ""
    return format_datetime(_moment(value), "d MMMM y, HH:mm", tzinfo=OFFICE_TIME_ZONE, locale=language())


def local_time(value: str | datetime) -> str:
    return format_time(_moment(value), "HH:mm", tzinfo=OFFICE_TIME_ZONE, locale=language())


def local_date(value: str | date | None) -> str:
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(value[:10])
    return format_date(day, "d MMMM y", locale=language())


def day_label(day: date) -> str:
    return format_date(day, "EEEE, d MMMM y", locale=language())


# --- reference data ------------------------------------------------------------------------------


class _Cached:
    """One public, slowly changing API answer kept for a few minutes (every page lists them)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._value: list[dict[str, Any]] | None = None
        self._fetched_at = 0.0

    def get(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._value is None or time.monotonic() - self._fetched_at > REFERENCE_CACHE_SECONDS:
                self._value = list(api().get(self.path).json()["items"])
                self._fetched_at = time.monotonic()
            return self._value


_application_types = _Cached("/api/v1/immigration/application-types")
_offices = _Cached("/api/v1/offices")


def application_types() -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in _application_types.get()}


def offices() -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in _offices.get()}


def office(code: str) -> dict[str, Any]:
    """One office by its code; the page does not exist for an unknown one."""
    if not _CODE.match(code):
        abort(404)
    try:
        return dict(api().get(f"/api/v1/offices/{code}").json())
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        raise


# --- free slots, grouped by day ------------------------------------------------------------------


@dataclass(frozen=True)
class SlotChoice:
    slot_id: int
    starts: str
    ends: str


@dataclass(frozen=True)
class SlotDay:
    day: date
    label: str
    choices: tuple[SlotChoice, ...]


def slot_days(slots: Iterable[Mapping[str, Any]]) -> list[SlotDay]:
    """Free slots as days of times; of several counters free at one time, one is offered."""
    by_day: dict[date, dict[str, SlotChoice]] = {}
    for slot in slots:
        starts = _moment(slot["starts_at"])
        times = by_day.setdefault(starts.date(), {})
        key = starts.isoformat()
        if key not in times:
            times[key] = SlotChoice(int(slot["slot_id"]), local_time(slot["starts_at"]), local_time(slot["ends_at"]))
    return [
        SlotDay(day, day_label(day), tuple(times[key] for key in sorted(times)))
        for day, times in sorted(by_day.items())
    ]


def search_window(raw_from: str | None, today: date) -> tuple[date, date]:
    """The days to list slots for: from the asked day (never before today) for a week."""
    try:
        first = date.fromisoformat(raw_from) if raw_from else today
    except ValueError:
        first = today
    first = max(first, today)
    return first, first + timedelta(days=SLOT_SEARCH_DAYS - 1)


def today_in_romania() -> date:
    return datetime.now(OFFICE_TIME_ZONE).date()
