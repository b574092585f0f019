"""notify-svc's HTTP API: a citizen's notifications, and resends for administrators."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from mai_chassis import Problem, current_principal, idempotent, require_auth
from marshmallow import RAISE

from .handlers import (
    DeliveryInProgressError,
    NotificationNotFoundError,
    NotificationOutOfScopeError,
    list_citizen_notifications,
    request_resend,
)
from .schemas import ListQuery, NotificationOut, NotificationPageOut

logger = logging.getLogger(__name__)

blueprint = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications")


def _database() -> Any:
    return current_app.extensions["mai_database"]


def _settings() -> Any:
    return current_app.config["SERVICE_SETTINGS"]


@blueprint.get("")
@require_auth(kind="citizen")
def list_notifications() -> Response:
    principal = current_principal()
    assert principal is not None
    query = ListQuery().load(request.args.to_dict(), unknown=RAISE)
    page = list_citizen_notifications(_database(), principal.subject, page=query["page"], per_page=query["per_page"])
    return jsonify(NotificationPageOut().dump(page))


@blueprint.post("/<notification_id>/resend")
@require_auth("admin")
@idempotent
def resend(notification_id: str) -> tuple[Response, int]:
    principal = current_principal()
    assert principal is not None
    try:
        uuid.UUID(notification_id)
    except ValueError:
        raise Problem(404, "There is no such notification.", kind="not-found") from None
    settings = _settings()
    with _database().unit_of_work(source=settings.service_name, traceparent=g.traceparent) as uow:
        try:
            notification = request_resend(
                uow,
                notification_id,
                requested_by=principal.subject,
                admin_units=principal.units_for("admin"),
                message_id_domain=settings.message_id_domain,
            )
        except NotificationNotFoundError:
            raise Problem(404, "There is no such notification.", kind="not-found") from None
        except NotificationOutOfScopeError:
            raise Problem(
                403, "The notification was sent on behalf of a unit you do not administer.", kind="forbidden"
            ) from None
        except DeliveryInProgressError:
            raise Problem(
                409,
                "The notification's latest delivery is still under way; resend it once it has finished.",
                kind="delivery-in-progress",
            ) from None
        body = NotificationOut().dump(notification)
        uow.commit()
    # Audit trail: who asked for which notification to go again (ids only, no personal data).
    logger.info(
        "audit: resend of notification %s (delivery %d) requested by staff %s",
        notification_id, body["deliveries"][-1]["number"], principal.subject,
    )  # fmt: skip
    return jsonify(body), 202
