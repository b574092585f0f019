"""Offices: their reference data and hours (public), free slots (applicants) and the day's schedule
(officers). Office managers' routes are in :mod:`.schedules`."""

from __future__ import annotations

from flask import Response, jsonify, request
from mai_chassis import require_auth
from mai_chassis.web import reading_unit_of_work, unit_of_work
from marshmallow import RAISE

from .. import handlers
from ..errors import NotFound
from ..handlers.allowances import SLOT_SEARCH
from ..schemas import AppointmentResponse, DayQuery, OfficeResponse, SlotSearchQuery, slot_items
from .blueprints import offices
from .context import MANAGER_ROLE, OFFICER_ROLE, deps, officer_or_manager, rate_limited

#: Built once: a schema's construction is work every search would repeat.
_SLOT_SEARCH_QUERY = SlotSearchQuery()


@offices.get("")
def list_offices() -> Response:
    with unit_of_work() as uow:
        answer = OfficeResponse(many=True).dump(handlers.show_offices(uow, deps(), handlers.ShowOffices()))
    return jsonify(items=answer)


@offices.get("/<code>")
def show_office(code: str) -> Response:
    with unit_of_work() as uow:
        (view,) = handlers.show_offices(uow, deps(), handlers.ShowOffices([code]))
        answer = OfficeResponse().dump(view)
    return jsonify(answer)


@offices.get("/<code>/slots")
@require_auth(kind="citizen")
@rate_limited(SLOT_SEARCH)
def search_slots(code: str) -> Response:
    if code not in deps().catalog.offices:
        raise NotFound  # an unknown office answers 404 before its query is checked
    query = _SLOT_SEARCH_QUERY.load(request.args.to_dict(), unknown=RAISE)
    # One SELECT: read outside a transaction (no BEGIN/ROLLBACK round trips), the same snapshot.
    with reading_unit_of_work() as uow:
        slots = handlers.search_slots(
            uow, deps(), handlers.SearchSlots(code, query["date_from"], query["date_to"], query["limit"])
        )
    return jsonify(items=slot_items(slots))


@offices.get("/<code>/appointments")
@require_auth(OFFICER_ROLE, MANAGER_ROLE)
def office_day_schedule(code: str) -> Response:
    """Officers and office managers: the day's appointments at the counters of their office."""
    staff = officer_or_manager()
    if code not in deps().catalog.offices or not staff.covers(code):
        raise NotFound  # not the caller's office: 404 before the query is checked
    query = DayQuery().load(request.args.to_dict(), unknown=RAISE)
    with unit_of_work() as uow:
        appointments = handlers.day_schedule(uow, deps(), handlers.DaySchedule(code, query["day"], staff))
        answer = AppointmentResponse(many=True).dump(appointments)
    return jsonify(items=answer)
