"""Request and response shapes of the certificates API (written for the API, not from the tables)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from .domain import PURPOSE_TEXT_MAX, canonical_verification_code, is_printable_text
from .purposes import purpose_catalogue

REVOCATION_REASONS = ("issued_in_error", "registry_updated", "holder_request", "other")
LANGUAGES = ("ro", "en")


class ApplicationRequestSchema(StrictSchema):
    purpose = fields.String(
        required=True,
        metadata={"description": "Purpose code from GET /api/v1/certificates/purposes.", "example": "employment"},
    )
    purpose_text = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=3, max=PURPOSE_TEXT_MAX),
        metadata={
            "description": "What the certificate is for, in words; only with purpose 'other' (ignored otherwise). "
            f"At most {PURPOSE_TEXT_MAX} characters, printed quoted and marked as declared by the applicant, "
            "not verified."
        },
    )
    language = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "Language of the e-mail about the outcome (default: the account's)."},
    )

    @validates_schema
    def _purpose_is_known(self, data: dict[str, Any], **_: Any) -> None:
        catalogue = purpose_catalogue()
        code = data.get("purpose")
        if code not in catalogue:
            raise ValidationError(f"Unknown purpose; one of: {', '.join(p.code for p in catalogue)}.", "purpose")
        purpose = next(p for p in catalogue if p.code == code)
        text = data.get("purpose_text") or ""
        if purpose.requires_text and not text.strip():
            raise ValidationError("Say what the certificate is for.", "purpose_text")
        if purpose.requires_text and not is_printable_text(text.replace("\n", " ").replace("\t", " ")):
            raise ValidationError("Plain text only: no control or formatting characters.", "purpose_text")


class VerificationRequestSchema(StrictSchema):
    """The number and exactly one of: the holder's CNP, or the verification code printed on the certificate."""

    number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Registration number printed on the certificate.", "example": "CJ-2025-0004512"},
    )
    cnp = fields.String(
        validate=validate.Regexp(r"^\d{13}$", error="A CNP has 13 digits."),
        metadata={
            "description": "The holder's personal numeric code (CNP); sent in the body, never in a URL. Give this "
            "or verification_code. After a few wrong CNPs for a number, verification by CNP for that number is "
            "locked for a while (429)."
        },
    )
    verification_code = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "The verification code printed on the certificate and carried by its QR code "
            "(12 characters; case, spaces and dashes do not matter). Give this or cnp.",
            "example": "7K2Q-MXPA-9D4T",
        },
    )

    @validates_schema
    def _exactly_one_proof(self, data: dict[str, Any], **_: Any) -> None:
        given = [name for name in ("cnp", "verification_code") if data.get(name) is not None]
        if len(given) != 1:
            raise ValidationError(
                "Give either the holder's CNP or the verification code printed on the certificate, not both."
                if given
                else "Give the holder's CNP or the verification code printed on the certificate.",
                "_schema",
            )
        code = data.get("verification_code")
        if code is not None and canonical_verification_code(code) is None:
            raise ValidationError("A verification code has 12 letters and digits, as printed.", "verification_code")


class RevocationRequestSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    unit = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
        metadata={"description": "The unit the clerk acts in; if given, it must be the issuing unit."},
    )


class PurposeSchema(Schema):
    code = fields.String(required=True)
    label_ro = fields.String(required=True)
    label_en = fields.String(required=True)
    requires_text = fields.Boolean(required=True)


class PurposeListSchema(Schema):
    items = fields.List(fields.Nested(PurposeSchema), required=True)


class ReferralSchema(Schema):
    reason = fields.String(required=True, metadata={"description": "registry_entry or manual_check_required"})
    unit = fields.String(required=True, metadata={"description": "Police unit whose counter to visit."})


class CertificateSchema(Schema):
    id = fields.UUID(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("valid", "expired", "revoked", "referred")),
        metadata={"description": "valid (downloadable), expired, revoked, or referred to a counter (no certificate)."},
    )
    purpose = fields.String(required=True)
    purpose_text = fields.String(allow_none=True)
    requested_at = fields.DateTime(required=True)
    registration_number = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    download_url = fields.Method(
        "_download_url",
        metadata={"type": ["string", "null"], "description": "Present while the certificate is valid."},
    )
    referral = fields.Nested(ReferralSchema, allow_none=True)

    def _download_url(self, certificate: Any) -> str | None:
        if certificate.status != "valid":
            return None
        return url_for("certificates.download_certificate", certificate_id=certificate.id)


class CertificateListSchema(Schema):
    items = fields.List(fields.Nested(CertificateSchema), required=True)


class VerificationSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(("valid", "expired", "revoked", "not_found")))
    registration_number = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    holder = fields.String(allow_none=True, metadata={"description": "The holder's name, masked: 'I*** P***'."})

    @post_dump
    def _nothing_about_an_unknown_certificate(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"result": data["result"]} if data["result"] == "not_found" else data


class RevocationSchema(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={"description": "Always revoked."})
    registration_number = fields.String(required=True)
    revoked_at = fields.DateTime(required=True)
    reason = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "The unit in whose name it was revoked."})


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Field -> messages, for validation errors."})
