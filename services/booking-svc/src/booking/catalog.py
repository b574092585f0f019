"""Reference data read from the package's data files: application types, offices, holidays."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, time
from importlib import resources
from typing import Any

import yaml

from .domain import WEEKDAYS, ApplicationType, DocumentType, HolidayCalendar, Office, OpeningInterval


@dataclass(frozen=True)
class Catalog:
    application_types: dict[str, ApplicationType]
    document_types: dict[str, DocumentType]
    offices: dict[str, Office]
    calendar: HolidayCalendar
    slot_minutes: int


def _read(name: str) -> Any:
    return yaml.safe_load(resources.files("booking.data").joinpath(name).read_text(encoding="utf-8"))


def _hours(raw: dict[str, list[str]]) -> dict[str, tuple[OpeningInterval, ...]]:
    hours: dict[str, tuple[OpeningInterval, ...]] = {}
    for weekday, intervals in raw.items():
        if weekday not in WEEKDAYS:
            raise ValueError(f"unknown weekday {weekday!r} in opening hours")
        parsed = []
        for interval in intervals:
            opens, closes = (time.fromisoformat(part) for part in interval.split("-"))
            if closes <= opens:
                raise ValueError(f"opening interval {interval!r} closes before it opens")
            parsed.append(OpeningInterval(opens, closes))
        hours[weekday] = tuple(parsed)
    return hours


@functools.cache
def load_catalog() -> Catalog:
    types_file = _read("application_types.yaml")
    documents = {code: DocumentType(code, dict(names)) for code, names in types_file["document_types"].items()}
    application_types = {
        entry["code"]: ApplicationType(
            entry["code"], dict(entry["name"]), tuple(documents[code] for code in entry["required_documents"])
        )
        for entry in types_file["application_types"]
    }
    offices_file = _read("offices.yaml")
    default_hours = _hours(offices_file["default_opening_hours"])
    offices = {
        entry["code"]: Office(
            code=entry["code"],
            name=entry["name"],
            county=entry["county"],
            city=entry["city"],
            counters=tuple(str(c) for c in entry["counters"]),
            opening_hours=_hours(entry["opening_hours"]) if "opening_hours" in entry else default_hours,
            closed_days=frozenset(date.fromisoformat(str(d)) for d in entry.get("closed_days", [])),
        )
        for entry in offices_file["offices"]
    }
    holidays = offices_file["public_holidays"]
    calendar = HolidayCalendar(
        fixed=frozenset(tuple(int(p) for p in md.split("-")) for md in holidays["fixed"]),  # type: ignore[misc]
        orthodox_easter_offsets=tuple(holidays["orthodox_easter_offsets"]),
    )
    return Catalog(application_types, documents, offices, calendar, int(offices_file["slot_minutes"]))
