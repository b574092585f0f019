"""Request and response shapes of the certificates API (written for the API, not from the tables)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from .domain import PURPOSE_TEXT_MAX, ReferralOutcome, canonical_verification_code, is_printable_text, is_valid_cnp
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


# --- staff: certificate clerks and counter officers ----------------------------------------------

REFERRAL_STATES = ("awaiting", "cleared", "decided", "all")


class StaffRevocationRequestSchema(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(REVOCATION_REASONS),
        metadata={"description": "Why the certificate is revoked; the holder is told."},
    )
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "Free text for the audit trail; required when the reason is 'other'."},
    )

    @validates_schema
    def _other_is_explained(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            raise ValidationError("Say why the certificate is revoked.", "note")


class RevocationDetailsSchema(Schema):
    revoked_at = fields.DateTime(required=True)
    reason = fields.String(required=True)
    note = fields.String(allow_none=True)
    unit = fields.String(required=True)
    revoked_by = fields.String(allow_none=True, metadata={"description": "Id of the clerk who revoked it."})


class StaffCertificateSchema(Schema):
    id = fields.UUID(required=True)
    registration_number = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("valid", "expired", "revoked")))
    purpose = fields.String(required=True)
    purpose_text = fields.String(allow_none=True)
    holder_name = fields.String(required=True, metadata={"description": "As printed on the certificate."})
    requested_at = fields.DateTime(required=True)
    issued_at = fields.DateTime(required=True)
    valid_until = fields.DateTime(required=True)
    issued_in_unit = fields.String(required=True, metadata={"description": "The unit in whose name it was issued."})
    issued_through = fields.String(required=True, validate=validate.OneOf(("online", "counter")))
    revocation = fields.Nested(RevocationDetailsSchema, allow_none=True)


class HistoryEntrySchema(Schema):
    event = fields.String(
        required=True, validate=validate.OneOf(("requested", "referred", "referral_decided", "issued", "revoked"))
    )
    at = fields.DateTime(required=True)
    unit = fields.String(allow_none=True)
    by = fields.String(allow_none=True, metadata={"description": "Id of the staff member who acted."})
    channel = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class CertificateHistorySchema(Schema):
    certificate_id = fields.UUID(required=True)
    registration_number = fields.String(required=True)
    events = fields.List(fields.Nested(HistoryEntrySchema), required=True, metadata={"description": "Oldest first."})
    verifications = fields.Integer(
        required=True, metadata={"description": "Verifications that found it (by CNP or code)."}
    )
    last_verified_at = fields.DateTime(allow_none=True)


class ReferralQuerySchema(StrictSchema):
    state = fields.String(load_default="awaiting", validate=validate.OneOf(REFERRAL_STATES))
    unit = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"))


class ReferralDecisionRequestSchema(StrictSchema):
    outcome = fields.String(
        required=True,
        validate=validate.OneOf([str(o) for o in ReferralOutcome]),
        metadata={
            "description": "cleared: the entry does not bar a certificate (issue it next); entry_confirmed: the "
            "entry stands and the registry's own procedure follows; withdrawn: the applicant withdrew."
        },
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ReferralDecisionSchema(Schema):
    outcome = fields.String(required=True)
    note = fields.String(allow_none=True)
    decided_at = fields.DateTime(required=True)
    decided_by = fields.String(allow_none=True)


class ReferralCaseSchema(Schema):
    id = fields.UUID(required=True)
    citizen_id = fields.UUID(
        required=True, allow_none=True, metadata={"description": "None once the holder deleted their account."}
    )
    holder_name = fields.String(required=True)
    purpose = fields.String(required=True)
    purpose_text = fields.String(allow_none=True)
    requested_at = fields.DateTime(required=True)
    reason = fields.String(required=True, metadata={"description": "Why it was referred: registry_entry."})
    unit = fields.String(required=True, metadata={"description": "The unit whose counter it was referred to."})
    state = fields.String(
        required=True, validate=validate.OneOf(("awaiting", "cleared", "entry_confirmed", "withdrawn", "issued"))
    )
    decision = fields.Nested(ReferralDecisionSchema, allow_none=True)
    registration_number = fields.String(allow_none=True, metadata={"description": "Once issued at the counter."})


class ReferralListSchema(Schema):
    items = fields.List(fields.Nested(ReferralCaseSchema), required=True)


class CounterIssueRequestSchema(StrictSchema):
    """The applicant's identity as read from the identity document the officer checked."""

    cnp = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{13}$", error="A CNP has 13 digits."),
        metadata={"description": "From the identity document; must be the applicant's (only its keyed hash is kept)."},
    )
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)

    @validates_schema
    def _a_coherent_document(self, data: dict[str, Any], **_: Any) -> None:
        cnp = data.get("cnp", "")
        if cnp and not is_valid_cnp(cnp):
            raise ValidationError("Not a valid CNP: check the digits.", "cnp")
        born = data.get("birth_date")
        if cnp and born is not None and cnp[1:7] != born.strftime("%y%m%d"):
            raise ValidationError("The birth date does not match the CNP.", "birth_date")
        for name in ("last_name", "first_name"):
            if name in data and not is_printable_text(data[name]):
                raise ValidationError("Plain text only.", name)


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Field -> messages, for validation errors."})
