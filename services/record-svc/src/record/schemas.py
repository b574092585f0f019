"""Request and response shapes of the certificates API (written for the API, not from the tables)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .purposes import purpose_catalogue

REVOCATION_REASONS = ("issued_in_error", "registry_updated", "holder_request", "other")
LANGUAGES = ("ro", "en")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ApplicationRequestSchema(_Strict):
    purpose = fields.String(
        required=True,
        metadata={"description": "Purpose code from GET /api/v1/certificates/purposes.", "example": "employment"},
    )
    purpose_text = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=3, max=500),
        metadata={"description": "What the certificate is for, in words; required for purpose 'other'."},
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
        if purpose.requires_text and not (data.get("purpose_text") or "").strip():
            raise ValidationError("Say what the certificate is for.", "purpose_text")


class VerificationRequestSchema(_Strict):
    registration_number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Registration number printed on the certificate.", "example": "CJ-2025-0004512"},
    )
    cnp = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{13}$", error="A CNP has 13 digits."),
        metadata={"description": "The holder's personal numeric code (CNP); sent in the body, never in a URL."},
    )


class RevocationRequestSchema(_Strict):
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
    download_url = fields.String(allow_none=True, metadata={"description": "Present while the certificate is valid."})
    referral = fields.Nested(ReferralSchema, allow_none=True)


class CertificateListSchema(Schema):
    items = fields.List(fields.Nested(CertificateSchema), required=True)


class VerificationSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(("valid", "expired", "revoked", "not_found")))
    registration_number = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    holder = fields.String(allow_none=True, metadata={"description": "The holder's name, masked: 'I*** P***'."})


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Field -> messages, for validation errors."})
