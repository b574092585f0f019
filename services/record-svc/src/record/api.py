"""HTTP API of record-svc under /api/v1/certificates: parse -> command -> handler -> schema."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from mai_chassis import Problem, current_principal, idempotent, load_json, require_auth
from mai_chassis.personal_data import EXPORT_PATH, export_response
from mai_chassis.web import unit_of_work

from . import handlers
from .deps import RecordDeps
from .schemas import (
    ApplicationRequestSchema,
    CertificateListSchema,
    CertificateSchema,
    PurposeListSchema,
    RevocationRequestSchema,
    RevocationSchema,
    VerificationRequestSchema,
    VerificationSchema,
)

__all__ = ["CLERK_ROLE", "certificates", "internal"]

certificates = Blueprint("certificates", __name__, url_prefix="/api/v1/certificates")
internal = Blueprint("record_internal", __name__)

CLERK_ROLE = "certificate_clerk"

# The public check's schemas, built once: a schema holds no state of its own between calls.
_VERIFICATION_REQUEST = VerificationRequestSchema()
_VERIFICATION = VerificationSchema()


def _deps() -> RecordDeps:
    deps: RecordDeps = current_app.extensions["record_deps"]
    return deps


def _citizen_id() -> uuid.UUID:
    principal = current_principal()
    assert principal is not None
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Problem(403, "This operation is for citizen accounts.", kind="forbidden") from None


def _bearer_token() -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


@internal.get(EXPORT_PATH)
@require_auth(kind="citizen")
def citizens_data() -> Response:
    """What record-svc holds about the caller, for identity-svc's download of the citizen's data."""
    with unit_of_work() as uow:
        document = handlers.export_citizen_data(uow, _deps(), handlers.CitizensData(_citizen_id()))
    return export_response(document)


@certificates.get("/purposes")
def list_purposes() -> Response:
    response = jsonify(PurposeListSchema().dump({"items": list(_deps().purposes)}))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@certificates.post("")
@require_auth(kind="citizen")
@idempotent
def apply_for_certificate() -> tuple[Response, int, dict[str, str]]:
    payload = load_json(ApplicationRequestSchema)
    principal = current_principal()
    assert principal is not None
    email = principal.claims.get("email")
    command = handlers.ApplyForCertificate(
        citizen_id=_citizen_id(),
        assurance=principal.assurance,
        bearer_token=_bearer_token(),
        email=email if isinstance(email, str) else None,
        purpose=payload["purpose"],
        purpose_text=payload["purpose_text"],
        language=payload["language"],
    )
    with unit_of_work() as uow:
        certificate, created = handlers.apply_for_certificate(uow, _deps(), command)
    location = url_for(".certificate", certificate_id=certificate.id)
    return jsonify(CertificateSchema().dump(certificate)), 201 if created else 200, {"Location": location}


@certificates.get("")
@require_auth(kind="citizen")
def list_certificates() -> Response:
    query = handlers.ListCertificates(_citizen_id())
    with unit_of_work() as uow:
        items = handlers.list_certificates(uow, _deps(), query)
    return jsonify(CertificateListSchema().dump({"items": items}))


@certificates.get("/<uuid:certificate_id>")
@require_auth(kind="citizen")
def certificate(certificate_id: uuid.UUID) -> Response:
    query = handlers.ShowCertificate(_citizen_id(), certificate_id)
    with unit_of_work() as uow:
        shown = handlers.show_certificate(uow, _deps(), query)
    return jsonify(CertificateSchema().dump(shown))


@certificates.get("/<uuid:certificate_id>/pdf")
@require_auth(kind="citizen")
def download_certificate(certificate_id: uuid.UUID) -> Response:
    query = handlers.DownloadCertificate(_citizen_id(), certificate_id)
    with unit_of_work() as uow:
        pdf = handlers.download_certificate(uow, _deps(), query)
    response = Response(pdf.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="cazier-judiciar-{pdf.registration_number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@certificates.post("/verifications")
def verify_certificate() -> Response:
    payload = load_json(_VERIFICATION_REQUEST)
    command = handlers.VerifyCertificate(
        number=payload["number"], cnp=payload.get("cnp"), verification_code=payload.get("verification_code")
    )
    with unit_of_work() as uow:
        outcome = handlers.verify_certificate(uow, _deps(), command)
    return jsonify(_VERIFICATION.dump(outcome))


@certificates.post("/<uuid:certificate_id>/revocation")
@require_auth(CLERK_ROLE)
def revoke_certificate(certificate_id: uuid.UUID) -> Response:
    payload = load_json(RevocationRequestSchema)
    principal = current_principal()
    assert principal is not None
    command = handlers.RevokeCertificate(
        certificate_id=certificate_id,
        clerk_id=principal.subject,
        clerk_units=frozenset(principal.units_for(CLERK_ROLE)),
        unit=payload["unit"],
        reason=payload["reason"],
        note=payload["note"],
    )
    with unit_of_work() as uow:
        revocation = handlers.revoke_certificate(uow, _deps(), command)
    return jsonify(RevocationSchema().dump(revocation))
