"""Police units with a public counter: where a citizen verifies their identity once in person and
where an online certificate application that needs a manual check is referred (public, read-only)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify
from mai_chassis import Problem
from marshmallow import Schema, fields, pre_dump

__all__ = [
    "ACCEPTED_DOCUMENTS",
    "CounterUnit",
    "CounterUnitList",
    "CounterUnitSchema",
    "counter_units",
    "load_counter_units",
]

counter_units = Blueprint("counter_units", __name__, url_prefix="/api/v1/identity/counter-units")

#: The identity documents a counter clerk checks (the same list the clerk's API accepts).
ACCEPTED_DOCUMENTS = ("identity_card", "provisional_identity_card", "passport")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CACHE = "public, max-age=3600"


@dataclass(frozen=True)
class CounterUnit:
    code: str
    name_ro: str
    name_en: str
    address: str
    city: str
    county: str
    opening_hours: dict[str, list[str]]


class OpeningInterval(Schema):
    day = fields.String(required=True, metadata={"example": "monday"})
    intervals = fields.List(fields.String(metadata={"example": "08:30-12:30"}), required=True)


class CounterUnitSchema(Schema):
    """A unit as the API shows it: its opening hours as a list of days, Monday first."""

    code = fields.String(required=True, metadata={"example": "IPJ-CJ"})
    name_ro = fields.String(required=True)
    name_en = fields.String(required=True)
    address = fields.String(required=True)
    city = fields.String(required=True)
    county = fields.String(required=True)
    opening_hours = fields.List(
        fields.Nested(OpeningInterval), required=True, metadata={"description": "Local time, Europe/Bucharest."}
    )
    accepted_documents = fields.List(fields.String(), metadata={"description": "ID documents the counter checks."})

    @pre_dump
    def _days_in_order(self, unit: CounterUnit, **_: Any) -> dict[str, Any]:
        days = [{"day": day, "intervals": unit.opening_hours[day]} for day in _WEEKDAYS if day in unit.opening_hours]
        return {**asdict(unit), "opening_hours": days}


class CounterUnitList(Schema):
    items = fields.List(fields.Nested(CounterUnitSchema), required=True)
    accepted_documents = fields.List(fields.String(), required=True)


@cache
def load_counter_units() -> dict[str, CounterUnit]:
    """The units of ``counter_units.json``, by code (read once; a malformed file fails loudly)."""
    raw = json.loads(resources.files(__package__).joinpath("counter_units.json").read_text(encoding="utf-8"))
    units: dict[str, CounterUnit] = {}
    for entry in raw["units"]:
        unknown_days = set(entry["opening_hours"]) - set(_WEEKDAYS)
        if unknown_days:
            raise ValueError(f"unit {entry['code']}: unknown days {sorted(unknown_days)}")
        units[entry["code"]] = CounterUnit(**entry)
    return units


def _cached(response: Response) -> Response:
    response.headers["Cache-Control"] = _CACHE
    return response


@counter_units.get("")
def list_counter_units() -> Response:
    units = sorted(load_counter_units().values(), key=lambda u: (u.county != "București", u.county, u.code))
    return _cached(jsonify(CounterUnitList().dump({"items": units, "accepted_documents": ACCEPTED_DOCUMENTS})))


@counter_units.get("/<code>")
def read_counter_unit(code: str) -> Response:
    unit = load_counter_units().get(code)
    if unit is None:
        raise Problem(404, "No counter unit has this code.", kind="not-found")
    return _cached(jsonify(CounterUnitSchema().dump(unit) | {"accepted_documents": list(ACCEPTED_DOCUMENTS)}))
