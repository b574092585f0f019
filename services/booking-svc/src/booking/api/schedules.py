"""Office managers' API: an office's schedule (hours, counters per slot type) and its closures."""

from __future__ import annotations

from flask import Response, jsonify, request
from mai_chassis import load_json, require_auth
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from .. import handlers
from ..schemas import (
    CapacityRequest,
    ClosureOutcomeResponse,
    ClosurePreviewQuery,
    ClosurePreviewResponse,
    ClosureRequest,
    ClosureResponse,
    OfficeScheduleResponse,
    OpeningHoursRequest,
)
from .blueprints import offices
from .context import MANAGER_ROLE, deps, manager


@offices.get("/<code>/schedule")
@require_auth(MANAGER_ROLE)
def show_schedule(code: str) -> Response:
    with unit_of_work() as uow:
        view = handlers.show_schedule(uow, deps(), handlers.ShowSchedule(code, manager()))
        answer = OfficeScheduleResponse().dump(view)
    return jsonify(answer)


@offices.put("/<code>/schedule/opening-hours")
@require_auth(MANAGER_ROLE)
def set_opening_hours(code: str) -> Response:
    body = load_json(OpeningHoursRequest)
    with unit_of_work() as uow:
        view = handlers.set_opening_hours(uow, deps(), handlers.SetOpeningHours(code, manager(), body["opening_hours"]))
        answer = OfficeScheduleResponse().dump(view)
    return jsonify(answer)


@offices.put("/<code>/schedule/capacity")
@require_auth(MANAGER_ROLE)
def set_capacity(code: str) -> Response:
    body = load_json(CapacityRequest)
    with unit_of_work() as uow:
        view = handlers.set_capacity(uow, deps(), handlers.SetCapacity(code, manager(), body["capacity"]))
        answer = OfficeScheduleResponse().dump(view)
    return jsonify(answer)


@offices.get("/<code>/closures")
@require_auth(MANAGER_ROLE)
def list_closures(code: str) -> Response:
    with unit_of_work() as uow:
        closures = handlers.list_closures(uow, deps(), handlers.ListClosures(code, manager()))
        answer = ClosureResponse(many=True).dump(closures)
    return jsonify(items=answer)


@offices.post("/<code>/closures")
@require_auth(MANAGER_ROLE)
def close_office(code: str) -> tuple[Response, int]:
    body = load_json(ClosureRequest)
    command = handlers.CloseOffice(
        code, manager(), body["first_day"], body.get("last_day", body["first_day"]), body["reason"]
    )
    with unit_of_work() as uow:
        outcome = handlers.close_office(uow, deps(), command)
        answer = ClosureOutcomeResponse().dump(outcome)
    return jsonify(answer), 201


@offices.get("/<code>/closures/preview")
@require_auth(MANAGER_ROLE)
def preview_closure(code: str) -> Response:
    """What closing the office on these days would do now: nothing is changed by asking."""
    query = ClosurePreviewQuery().load(request.args.to_dict(), unknown=RAISE)
    command = handlers.PreviewClosure(code, manager(), query["first_day"], query.get("last_day", query["first_day"]))
    with unit_of_work() as uow:
        preview = handlers.preview_closure(uow, deps(), command)
        answer = ClosurePreviewResponse().dump(preview)
    return jsonify(answer)
