"""audit-svc's HTTP API: administrators read the audit trail, filtered and paged.

Views parse the request, run a handler in a unit of work and dump the result with a schema;
domain errors propagate to the chassis, which renders them from ``errors.PROBLEMS``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from mai_chassis import current_principal, require_auth
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from .deps import AuditDeps
from .handlers import ReadAuditTrail, read_audit_trail
from .schemas import AuditPageOut, AuditQuery

__all__ = ["blueprint"]

blueprint = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


def _deps() -> AuditDeps:
    return current_app.extensions["audit"]  # type: ignore[no-any-return]


@blueprint.get("/actions")
@require_auth()
def list_actions() -> Response:
    query = AuditQuery().load(request.args.to_dict(), unknown=RAISE)
    principal = current_principal()
    assert principal is not None  # behind @require_auth
    if "actor_id" in query:
        query["actor_id"] = str(query["actor_id"])
    with unit_of_work() as uow:
        page = read_audit_trail(uow, _deps(), ReadAuditTrail(principal=principal, **query))
        return jsonify(AuditPageOut().dump(page))
