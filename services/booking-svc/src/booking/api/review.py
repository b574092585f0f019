"""Immigration officers' API: the review queue, document decisions, the visit and the pickup."""

from __future__ import annotations

from flask import Response, jsonify, request
from mai_chassis import load_json, require_auth
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from .. import handlers
from ..domain import ApplicationStatus, DocumentDecision
from ..schemas import ApplicationResponse, ApplicationSummaryResponse, QueueQuery, ReviewRequest, VisitRequest
from .blueprints import immigration
from .context import OFFICER_ROLE, deps, officer


@immigration.get("/review-queue")
@require_auth(OFFICER_ROLE)
def review_queue() -> Response:
    query = QueueQuery().load(request.args.to_dict(), unknown=RAISE)
    with unit_of_work() as uow:
        applications = handlers.review_queue(
            uow,
            deps(),
            handlers.ReviewQueue(officer(), query.get("office"), query["limit"], ApplicationStatus(query["status"])),
        )
        answer = ApplicationSummaryResponse(many=True).dump(applications)
    return jsonify(items=answer)


@immigration.post("/applications/<application_id>/review")
@require_auth(OFFICER_ROLE)
def review_application(application_id: str) -> Response:
    body = load_json(ReviewRequest)
    decisions = tuple(
        DocumentDecision(d["document_type"], d["decision"] == "accepted", d.get("feedback")) for d in body["documents"]
    )
    with unit_of_work() as uow:
        details = handlers.review_application(
            uow, deps(), handlers.ReviewApplication(application_id, officer(), decisions)
        )
        answer = ApplicationResponse().dump(details)
    return jsonify(answer)


@immigration.post("/applications/<application_id>/visit")
@require_auth(OFFICER_ROLE)
def record_visit(application_id: str) -> Response:
    body = load_json(VisitRequest)
    command = handlers.RecordVisit(
        application_id, officer(), pickup_from=body["pickup_from"], biometrics_taken_at=body.get("biometrics_taken_at")
    )
    with unit_of_work() as uow:
        details = handlers.record_visit(uow, deps(), command)
        answer = ApplicationResponse().dump(details)
    return jsonify(answer)


@immigration.post("/applications/<application_id>/pickup")
@require_auth(OFFICER_ROLE)
def record_pickup(application_id: str) -> Response:
    with unit_of_work() as uow:
        details = handlers.record_pickup(uow, deps(), handlers.RecordPickup(application_id, officer()))
        answer = ApplicationResponse().dump(details)
    return jsonify(answer)
