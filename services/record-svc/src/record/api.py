"""HTTP API of record-svc under /api/v1/certificates: parse -> use case -> serialise."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from mai_chassis import Problem, current_principal, idempotent, load_json, require_auth
from mai_chassis.problems import problem_response

from . import handlers
from .domain import (
    ApplicationStatus,
    CertificateError,
    CertificateNotDownloadable,
    CertificateNotFound,
    CertificateNotRevocable,
    ContactUnknown,
    IdentityNotVerified,
    UnknownPurpose,
    VerificationLocked,
    VerificationResult,
    as_utc,
    verification_result,
)
from .schemas import (
    ApplicationRequestSchema,
    CertificateSchema,
    RevocationRequestSchema,
    VerificationRequestSchema,
    VerificationSchema,
)
from .tables import CertificateApplication

__all__ = ["VERIFICATION_METHODS", "certificates"]

certificates = Blueprint("certificates", __name__, url_prefix="/api/v1/certificates")

CLERK_ROLE = "certificate_clerk"
VERIFICATION_METHODS = [
    {
        "method": "eid_provider",
        "provider": "bank-card",
        "description": "Online, once: electronic identification through Ghiseul.ro with a 3-D Secure bank card "
        "issued by a Romanian bank.",
    },
    {
        "method": "counter",
        "description": "In person, once: show your identity document at the counter of a police unit "
        "that issues criminal-record certificates.",
    },
]


def _office() -> handlers.CertificateOffice:
    office: handlers.CertificateOffice = current_app.extensions["record_office"]
    return office


def _bearer_token() -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def _citizen_id() -> uuid.UUID:
    principal = current_principal()
    assert principal is not None
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Problem(403, "This operation is for citizen accounts.", kind="forbidden") from None


def _status(application: CertificateApplication) -> str:
    if application.status == ApplicationStatus.REFERRED:
        return "referred"
    return str(verification_result(application.status, application.valid_until, _office().clock.now()))


def _certificate_body(application: CertificateApplication) -> dict[str, Any]:
    status = _status(application)
    body = {
        "id": application.id,
        "status": status,
        "purpose": application.purpose,
        "purpose_text": application.purpose_text,
        "requested_at": as_utc(application.requested_at),
        "registration_number": application.registration_number,
        "issued_at": as_utc(application.issued_at) if application.issued_at else None,
        "valid_until": as_utc(application.valid_until) if application.valid_until else None,
        "download_url": url_for(".download_certificate", certificate_id=application.id)
        if status == VerificationResult.VALID
        else None,
        "referral": {"reason": application.referral_reason, "unit": application.referred_to_unit}
        if application.status == ApplicationStatus.REFERRED
        else None,
    }
    return CertificateSchema().dump(body)  # type: ignore[no-any-return]


@certificates.errorhandler(CertificateError)
def _refusal(exc: CertificateError) -> Response:
    if isinstance(exc, IdentityNotVerified):
        problem = Problem(
            403,
            "Your identity must be verified before you can apply online. Verify it once: online through "
            "Ghiseul.ro with a 3-D Secure bank card, or in person at a police unit counter with your ID document.",
            kind="identity-not-verified",
            verification_methods=VERIFICATION_METHODS,
        )
    elif isinstance(exc, CertificateNotFound):
        problem = Problem(404, "No such certificate.", kind="not-found")
    elif isinstance(exc, CertificateNotDownloadable):
        problem = Problem(
            410,
            f"This certificate can no longer be downloaded: it is {exc.result}. Apply for a new one.",
            kind="certificate-not-available",
            certificate_status=str(exc.result),
        )
    elif isinstance(exc, CertificateNotRevocable):
        problem = Problem(
            409,
            f"Only a valid issued certificate can be revoked; this one is {exc.status}.",
            kind="certificate-not-revocable",
        )
    elif isinstance(exc, VerificationLocked):
        # The same answer whether or not a certificate has the number: nothing to enumerate.
        problem = Problem(
            429,
            "Too many wrong CNPs were given for this registration number, so checking it by CNP is paused. "
            "Use the verification code printed on the certificate (or in its QR code), or try again later.",
            kind="verification-locked",
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    elif isinstance(exc, ContactUnknown):
        problem = Problem(
            409, "Your account has no confirmed e-mail address; confirm one, then apply again.", kind="contact-unknown"
        )
    else:  # pragma: no cover - every refusal is mapped above
        problem = Problem(400, str(exc))
    return problem_response(problem)


@certificates.errorhandler(UnknownPurpose)
def _unknown_purpose(exc: UnknownPurpose) -> Response:
    return problem_response(Problem(422, str(exc), kind="validation-error", errors={"purpose": [str(exc)]}))


@certificates.get("/purposes")
def list_purposes() -> Response:
    items = [
        {"code": p.code, "label_ro": p.label_ro, "label_en": p.label_en, "requires_text": p.requires_text}
        for p in _office().purposes
    ]
    response = jsonify(items=items)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@certificates.post("")
@require_auth(kind="citizen")
@idempotent
def apply_for_certificate() -> tuple[Response, int, dict[str, str]]:
    payload = load_json(ApplicationRequestSchema)
    principal = current_principal()
    assert principal is not None
    applicant = handlers.Applicant(
        citizen_id=_citizen_id(),
        assurance=principal.assurance,
        bearer_token=_bearer_token(),
        email=principal.claims.get("email") if isinstance(principal.claims.get("email"), str) else None,
    )
    application, created = handlers.apply_for_certificate(
        _office(),
        applicant,
        purpose_code=payload["purpose"],
        purpose_text=payload["purpose_text"],
        language=payload["language"],
        traceparent=g.traceparent,
    )
    location = url_for(".certificate", certificate_id=application.id)
    return jsonify(_certificate_body(application)), 201 if created else 200, {"Location": location}


@certificates.get("")
@require_auth(kind="citizen")
def list_certificates() -> Response:
    return jsonify(items=[_certificate_body(a) for a in handlers.certificates_of(_office(), _citizen_id())])


@certificates.get("/<uuid:certificate_id>")
@require_auth(kind="citizen")
def certificate(certificate_id: uuid.UUID) -> Response:
    return jsonify(_certificate_body(handlers.certificate_of(_office(), _citizen_id(), certificate_id)))


@certificates.get("/<uuid:certificate_id>/pdf")
@require_auth(kind="citizen")
def download_certificate(certificate_id: uuid.UUID) -> Response:
    application, pdf = handlers.certificate_pdf(_office(), _citizen_id(), certificate_id)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cazier-judiciar-{application.registration_number}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@certificates.post("/verifications")
def verify_certificate() -> Response:
    payload = load_json(VerificationRequestSchema)
    outcome = handlers.verify_certificate(
        _office(), payload["number"], cnp=payload.get("cnp"), verification_code=payload.get("verification_code")
    )
    body: dict[str, Any] = {"result": str(outcome.result)}
    if outcome.result is not VerificationResult.NOT_FOUND:
        body |= {
            "registration_number": outcome.registration_number,
            "issued_at": as_utc(outcome.issued_at) if outcome.issued_at else None,
            "valid_until": as_utc(outcome.valid_until) if outcome.valid_until else None,
            "holder": outcome.holder,
        }
    return jsonify(VerificationSchema().dump(body))


@certificates.post("/<uuid:certificate_id>/revocation")
@require_auth(CLERK_ROLE)
def revoke_certificate(certificate_id: uuid.UUID) -> Response:
    payload = load_json(RevocationRequestSchema)
    principal = current_principal()
    assert principal is not None
    # A certificate is revoked in the name of the unit that issued it, by that unit's clerks only:
    # a clerk elsewhere (or an admin) asks them, and the audit trail names who decided.
    unit = current_app.config["SERVICE_SETTINGS"].issuing_unit
    if payload["unit"] not in (None, unit) or not principal.has_role(CLERK_ROLE, unit):
        raise Problem(
            403, f"Only certificate clerks of the issuing unit ({unit}) revoke certificates.", kind="forbidden"
        )
    application = handlers.revoke_certificate(
        _office(),
        certificate_id,
        clerk_id=principal.subject,
        unit=unit,
        reason=payload["reason"],
        note=payload["note"],
        traceparent=g.traceparent,
    )
    return jsonify(
        id=str(application.id),
        status="revoked",
        registration_number=application.registration_number,
        revoked_at=application.revoked_at.isoformat() if application.revoked_at else None,
        reason=application.revocation_reason,
        unit=application.revoked_in_unit,
    )
