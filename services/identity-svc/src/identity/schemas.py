"""Request and response schemas of the HTTP API (unknown fields rejected; not derived from tables)."""

from __future__ import annotations

from typing import Any

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, validate, validates

from . import domain
from .domain import StaffRole

LANGUAGES = ("ro", "en")
_NAME = validate.Length(min=1, max=100)
_PASSWORD = validate.Length(min=10, max=256, error="A password has 10 to 256 characters.")
_UNIT = validate.Regexp(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63}|\*)$", error="A unit code such as IGPR or SPCEP-B1.")


Strict = StrictSchema


class CnpField(fields.String):
    """A CNP, validated with python-stdnum (format, birth date, county, check digit)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return domain.validate_cnp(raw)
        except domain.InvalidCnpError as exc:
            raise ValidationError(str(exc)) from None


class Registration(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=_PASSWORD)
    last_name = fields.String(required=True, validate=_NAME)
    first_name = fields.String(required=True, validate=_NAME)
    cnp = CnpField(required=True, load_only=True)
    language = fields.String(load_default="ro", validate=validate.OneOf(LANGUAGES))


class Accepted(Schema):
    status = fields.String(required=True, metadata={"example": "accepted"})
    detail = fields.String(required=True)


class EmailConfirmation(Strict):
    citizen_id = fields.UUID(required=True)
    code = fields.String(required=True, validate=validate.Length(min=4, max=20))


class EmailOnly(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class Login(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_token = fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Length(min=1, max=1000),
        metadata={
            "description": "The device token an earlier login on this device returned. A known device is "
            "never slowed down by other clients' failed logins on the account."
        },
    )


class RefreshRequest(Strict):
    refresh_token = fields.String(required=True, validate=validate.Length(min=20, max=200))


class Tokens(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the access token is valid."})
    device_token = fields.String(
        metadata={
            "description": "On login: keep it on this device (e.g. in an HttpOnly cookie) and send it with the "
            "next logins; strangers' failed logins then never lock this device out."
        }
    )


class PasswordReset(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    code = fields.String(required=True, validate=validate.Length(min=4, max=20))
    new_password = fields.String(required=True, load_only=True, validate=_PASSWORD)


class ProfileChanges(Strict):
    last_name = fields.String(validate=_NAME)
    first_name = fields.String(validate=_NAME)
    cnp = CnpField(load_only=True)
    birth_date = fields.Date()
    birth_place = fields.String(allow_none=True, validate=validate.Length(max=200))
    father_first_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    mother_first_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    citizenship = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="An ISO 3166-1 alpha-2 code."))
    address = fields.String(allow_none=True, validate=validate.Length(max=500))


class Profile(Schema):
    citizen_id = fields.UUID(required=True)
    email = fields.String(required=True)
    last_name = fields.String(required=True)
    first_name = fields.String(required=True)
    cnp_last_digits = fields.String(metadata={"description": "Last four digits of the CNP, to recognise it."})
    birth_date = fields.Date(required=True)
    birth_place = fields.String(allow_none=True)
    father_first_name = fields.String(allow_none=True)
    mother_first_name = fields.String(allow_none=True)
    citizenship = fields.String(required=True)
    address = fields.String(allow_none=True)
    assurance_level = fields.String(required=True, validate=validate.OneOf(["none", "substantial", "high"]))
    verified = fields.Boolean(required=True)
    verified_at = fields.DateTime(allow_none=True)


class CivilStatusForRecord(Profile):
    cnp = fields.String(required=True, metadata={"description": "The citizen's CNP (internal use only)."})


class VerificationStart(Strict):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=64))
    redirect_uri = fields.Url(load_default=None, require_tld=False)


class VerificationStarted(Schema):
    verification_id = fields.UUID(required=True)
    provider = fields.String(required=True)
    authorization_url = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class ProviderAnswer(Strict):
    state = fields.String(required=True, validate=validate.Length(min=10, max=200))
    answer = fields.String(required=True, validate=validate.Length(min=10, max=20000))


class Verified(Schema):
    citizen_id = fields.UUID(required=True)
    assurance_level = fields.String(required=True)
    verified_at = fields.DateTime(required=True)


class CounterCodeIssued(Schema):
    counter_code = fields.String(required=True, metadata={"example": "K7QM-3XPA"})
    expires_at = fields.DateTime(required=True)


class CounterLookup(Strict):
    unit = fields.String(required=True, validate=_UNIT)
    email = fields.Email(load_default=None)
    counter_code = fields.String(load_default=None, validate=validate.Length(min=8, max=12))


class CounterAccount(Schema):
    citizen_id = fields.UUID(required=True)
    email = fields.String(required=True)
    last_name = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    email_confirmed = fields.Boolean(required=True)
    verified = fields.Boolean(required=True)
    assurance_level = fields.String(required=True)


class CheckedDocument(Strict):
    type = fields.String(
        required=True, validate=validate.OneOf(["identity_card", "passport", "provisional_identity_card"])
    )
    series = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"))
    number = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9]{6,9}$"))


class CounterVerification(Strict):
    citizen_id = fields.UUID(required=True)
    unit = fields.String(required=True, validate=_UNIT)
    document = fields.Nested(CheckedDocument, required=True)
    cnp = CnpField(required=True, load_only=True)
    last_name = fields.String(required=True, validate=_NAME)
    first_name = fields.String(required=True, validate=_NAME)


class RoleGrant(Strict):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in StaffRole]))
    unit = fields.String(required=True, validate=_UNIT)


class NewStaffAccount(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = fields.String(load_default="ro", validate=validate.OneOf(LANGUAGES))
    roles = fields.List(fields.Nested(RoleGrant), required=True, validate=validate.Length(min=1, max=20))


class StaffAccount(Schema):
    staff_id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.Nested(RoleGrant), required=True)
    created_at = fields.DateTime(required=True)


class AuditQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before_id = fields.Integer(load_default=None)
    unit = fields.String(load_default=None, validate=_UNIT)


class AuditEntry(Schema):
    id = fields.Integer(required=True)
    actor_id = fields.UUID(allow_none=True)
    action = fields.String(required=True)
    target_account_id = fields.UUID(allow_none=True)
    unit = fields.String(allow_none=True)
    details = fields.Dict(required=True)
    request_id = fields.String(allow_none=True)
    at = fields.DateTime(required=True)


class AuditPage(Schema):
    entries = fields.List(fields.Nested(AuditEntry), required=True)


class SandboxIdentification(Strict):
    """What the sandbox's simulated bank page asks: who the card holder is."""

    state = fields.String(required=True)
    nonce = fields.String(required=True)
    redirect_uri = fields.String(required=True)
    cnp = fields.String(required=True, validate=validate.Length(equal=13))
    last_name = fields.String(required=True, validate=_NAME)
    first_name = fields.String(required=True, validate=_NAME)

    @validates("redirect_uri")
    def _relative_or_http(self, value: str, **_: Any) -> None:
        if not value.startswith(("http://", "https://", "/")):
            raise ValidationError("An http(s) URL.")
