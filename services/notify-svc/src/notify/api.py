"""notify-svc's HTTP API: a citizen's notifications; administrators' search and resends.

Views parse the request, run a handler in a unit of work and dump the result with a schema;
domain errors propagate to the chassis, which renders them from ``errors.PROBLEMS``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from mai_chassis import current_principal, idempotent, load_json, require_auth
from mai_chassis.auth import Principal
from mai_chassis.personal_data import EXPORT_PATH, export_response
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from .deps import NotifyDeps
from .handlers import (
    CitizensData,
    CitizensNotifications,
    NotificationSearch,
    ResendNotification,
    export_citizen_data,
    list_citizens_notifications,
    resend_notification,
    search_notifications,
)
from .schemas import FoundNotificationPageOut, ListQuery, NotificationOut, NotificationPageOut, SearchQuery

__all__ = ["blueprint", "internal"]

blueprint = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications")
internal = Blueprint("notify_internal", __name__)


def _deps() -> NotifyDeps:
    return current_app.extensions["notify"]  # type: ignore[no-any-return]


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # behind @require_auth
    return principal


@blueprint.get("")
@require_auth(kind="citizen")
def list_notifications() -> Response:
    query = ListQuery().load(request.args.to_dict(), unknown=RAISE)
    with unit_of_work() as uow:
        page = list_citizens_notifications(uow, _deps(), CitizensNotifications(_principal().subject, **query))
        return jsonify(NotificationPageOut().dump(page))


@blueprint.post("/<notification_id>/resend")
@require_auth("admin")
@idempotent
def resend(notification_id: str) -> tuple[Response, int]:
    principal = _principal()
    command = ResendNotification(
        notification_id, requested_by=principal.subject, admin_units=frozenset(principal.units_for("admin"))
    )
    with unit_of_work() as uow:
        notification = resend_notification(uow, _deps(), command)
        return jsonify(NotificationOut().dump(notification)), 202


@internal.get(EXPORT_PATH)
@require_auth(kind="citizen")
def citizens_data() -> Response:
    """What notify-svc holds about the caller, for identity-svc's download of the citizen's data."""
    with unit_of_work() as uow:
        document = export_citizen_data(uow, _deps(), CitizensData(_principal().subject))
    return export_response(document)


@blueprint.post("/searches")
@require_auth("admin")
def search() -> Response:
    body = load_json(SearchQuery)
    query = NotificationSearch(admin_units=frozenset(_principal().units_for("admin")), **body)
    with unit_of_work() as uow:
        page = search_notifications(uow, _deps(), query)
        return jsonify(FoundNotificationPageOut().dump(page))
