"""Staff API of record-svc: certificate clerks find, read the history of and revoke certificates by
number; counter officers work the applications referred to their counters. Each sees only the
units their roles name."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from mai_chassis import current_principal, idempotent, load_json, require_auth
from mai_chassis.web import unit_of_work

from . import handlers
from .deps import RecordDeps
from .domain import ReferralOutcome
from .schemas import (
    CertificateHistorySchema,
    CounterIssueRequestSchema,
    ReferralCaseSchema,
    ReferralDecisionRequestSchema,
    ReferralListSchema,
    ReferralQuerySchema,
    RevocationSchema,
    StaffCertificateSchema,
    StaffRevocationRequestSchema,
)

__all__ = ["CLERK_ROLE", "COUNTER_ROLE", "staff"]

staff = Blueprint("staff", __name__, url_prefix="/api/v1/certificates")

CLERK_ROLE = "certificate_clerk"
COUNTER_ROLE = "counter_clerk"


def _deps() -> RecordDeps:
    deps: RecordDeps = current_app.extensions["record_deps"]
    return deps


def _staff(role: str) -> tuple[str, frozenset[str]]:
    """The caller's id and the units in which they hold ``role``."""
    principal = current_principal()
    assert principal is not None
    return principal.subject, frozenset(principal.units_for(role))


@staff.get("/numbers/<string:number>")
@require_auth(CLERK_ROLE, kind="staff")
def find_certificate(number: str) -> Response:
    _, units = _staff(CLERK_ROLE)
    with unit_of_work() as uow:
        found = handlers.find_certificate(uow, _deps(), handlers.FindCertificate(number=number, clerk_units=units))
    return jsonify(StaffCertificateSchema().dump(found))


@staff.get("/numbers/<string:number>/history")
@require_auth(CLERK_ROLE, kind="staff")
def certificate_history(number: str) -> Response:
    _, units = _staff(CLERK_ROLE)
    with unit_of_work() as uow:
        history = handlers.certificate_history(uow, _deps(), handlers.FindCertificate(number=number, clerk_units=units))
    return jsonify(CertificateHistorySchema().dump(history))


@staff.post("/numbers/<string:number>/revocation")
@require_auth(CLERK_ROLE, kind="staff")
def revoke_certificate_by_number(number: str) -> Response:
    payload = load_json(StaffRevocationRequestSchema)
    clerk_id, units = _staff(CLERK_ROLE)
    command = handlers.RevokeCertificateByNumber(
        number=number, clerk_id=clerk_id, clerk_units=units, reason=payload["reason"], note=payload["note"]
    )
    with unit_of_work() as uow:
        revocation = handlers.revoke_certificate_by_number(uow, _deps(), command)
    return jsonify(RevocationSchema().dump(revocation))


@staff.get("/referrals")
@require_auth(COUNTER_ROLE, kind="staff")
def list_referrals() -> Response:
    query = ReferralQuerySchema().load(request.args.to_dict())
    _, units = _staff(COUNTER_ROLE)
    command = handlers.ListReferrals(officer_units=units, state=query["state"], unit=query["unit"])
    with unit_of_work() as uow:
        referrals = handlers.list_referrals(uow, _deps(), command)
    return jsonify(ReferralListSchema().dump({"items": referrals}))


@staff.get("/referrals/<uuid:certificate_id>")
@require_auth(COUNTER_ROLE, kind="staff")
def show_referral(certificate_id: uuid.UUID) -> Response:
    _, units = _staff(COUNTER_ROLE)
    with unit_of_work() as uow:
        referral = handlers.show_referral(
            uow, _deps(), handlers.ShowReferral(certificate_id=certificate_id, officer_units=units)
        )
    return jsonify(ReferralCaseSchema().dump(referral))


@staff.post("/referrals/<uuid:certificate_id>/outcome")
@require_auth(COUNTER_ROLE, kind="staff")
def decide_referral(certificate_id: uuid.UUID) -> Response:
    payload = load_json(ReferralDecisionRequestSchema)
    officer_id, units = _staff(COUNTER_ROLE)
    command = handlers.DecideReferral(
        certificate_id=certificate_id,
        officer_id=officer_id,
        officer_units=units,
        outcome=ReferralOutcome(payload["outcome"]),
        note=payload["note"],
    )
    with unit_of_work() as uow:
        referral = handlers.decide_referral(uow, _deps(), command)
    return jsonify(ReferralCaseSchema().dump(referral))


@staff.post("/referrals/<uuid:certificate_id>/certificate")
@require_auth(COUNTER_ROLE, kind="staff")
@idempotent
def issue_at_counter(certificate_id: uuid.UUID) -> tuple[Response, int, dict[str, str]]:
    payload = load_json(CounterIssueRequestSchema)
    officer_id, units = _staff(COUNTER_ROLE)
    command = handlers.IssueAtCounter(
        certificate_id=certificate_id,
        officer_id=officer_id,
        officer_units=units,
        cnp=payload["cnp"],
        last_name=payload["last_name"],
        first_name=payload["first_name"],
        birth_date=payload["birth_date"],
    )
    with unit_of_work() as uow:
        certificate = handlers.issue_at_counter(uow, _deps(), command)
    location = url_for(".find_certificate", number=certificate.registration_number)
    return jsonify(StaffCertificateSchema().dump(certificate)), 201, {"Location": location}


@staff.get("/referrals/<uuid:certificate_id>/certificate/pdf")
@require_auth(COUNTER_ROLE, kind="staff")
def print_at_counter(certificate_id: uuid.UUID) -> Response:
    officer_id, units = _staff(COUNTER_ROLE)
    command = handlers.PrintAtCounter(certificate_id=certificate_id, officer_id=officer_id, officer_units=units)
    with unit_of_work() as uow:
        pdf = handlers.print_at_counter(uow, _deps(), command)
    response = Response(pdf.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="cazier-judiciar-{pdf.registration_number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
