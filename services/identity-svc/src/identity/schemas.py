"""Request and response schemas of the HTTP API (unknown fields rejected; not derived from tables)."""

from __future__ import annotations

from typing import Any

from mai_chassis.schemas import StrictSchema
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

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


class AccountDeletionRequest(Strict):
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "The account's current password, confirming the deletion."},
    )


class KeptData(Schema):
    data_class = fields.String(required=True, metadata={"example": "closed-petitions"})
    service = fields.String(required=True, metadata={"example": "petition-svc"})
    term = fields.String(
        required=True, metadata={"description": "ISO 8601 duration the data is kept for", "example": "P10Y"}
    )
    basis = fields.String(required=True, metadata={"description": "Why the law or the platform's policy keeps it."})


class AccountDeletion(Schema):
    account_id = fields.String(required=True)
    deleted_at = fields.DateTime(required=True)
    kept = fields.List(
        fields.Nested(KeptData),
        required=True,
        metadata={"description": "What stays, unlinked from the account, for how long and why; everything else goes."},
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

    @post_dump
    def _only_a_login_names_the_device(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("device_token") is None:
            data.pop("device_token", None)
        return data


_CHALLENGE_TOKEN = validate.Length(min=20, max=2000)
_TOTP_CODE = validate.Regexp(r"^\s*\d{3}\s?\d{3}\s*$", error="The 6 digits the authenticator app shows.")


class SecondFactorChallenge(Schema):
    """A staff member's right password: the sign-in goes on with a second factor (never a session)."""

    challenge_token = fields.String(
        required=True, metadata={"description": "Short-lived; accepted only by the second-factor endpoints."}
    )
    step = fields.String(
        required=True,
        metadata={
            "description": "second_factor: send a code to /auth/second-factor, or a security key's answer to "
            "/auth/second-factor/security-key (methods says which the account has); enrolment: the account "
            "has no authenticator yet and may only enrol one (/auth/second-factor/totp/enrolment).",
            "enum": ["second_factor", "enrolment"],
        },
    )
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds the challenge token is valid."})
    methods = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "totp, recovery_code, security_key (second_factor); totp_enrolment (enrolment).",
            "example": ["totp", "recovery_code", "security_key"],
        },
    )


class SecondFactorAnswer(Strict):
    challenge_token = fields.String(required=True, load_only=True, validate=_CHALLENGE_TOKEN)
    code = fields.String(load_default=None, load_only=True, validate=_TOTP_CODE)
    recovery_code = fields.String(load_default=None, load_only=True, validate=validate.Length(min=10, max=20))

    @validates_schema
    def _one_of_code_or_recovery_code(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("code") is None) == (data.get("recovery_code") is None):
            raise ValidationError("Give either code or recovery_code.", "_schema")


class TotpEnrolmentStart(Strict):
    challenge_token = fields.String(
        load_default=None,
        load_only=True,
        validate=_CHALLENGE_TOKEN,
        metadata={"description": "Mid sign-in (step enrolment); without it, a staff member's bearer token."},
    )


class TotpEnrolment(Schema):
    """Shown once: the secret, its otpauth:// URI and the URI as a QR code (inline SVG)."""

    secret = fields.String(required=True, metadata={"description": "Base32, for typing into the app by hand."})
    otpauth_uri = fields.String(required=True)
    qr_svg = fields.String(required=True, metadata={"description": "An <svg> element with a <title>."})


class TotpEnrolmentConfirmation(TotpEnrolmentStart):
    code = fields.String(required=True, load_only=True, validate=_TOTP_CODE)


class ConfirmedEnrolment(Schema):
    recovery_codes = fields.List(
        fields.String(), required=True, metadata={"description": "Ten single-use codes, shown only this once."}
    )
    tokens = fields.Nested(Tokens, allow_none=True, metadata={"description": "When the enrolment ended a sign-in."})


_CEREMONY_TOKEN = validate.Length(min=20, max=2000)
_KEY_NAME = validate.Regexp(
    r"^(?=.*\S)[^\x00-\x1f\x7f]{1,60}$", error="A name of 1 to 60 characters, such as 'Blue key' or 'Work laptop'."
)


class WebAuthnAnswer(fields.Dict):
    """The browser's ``PublicKeyCredential`` as JSON (``toJSON()``: binary members in base64url)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            keys=fields.String(),
            required=True,
            load_only=True,
            metadata={
                "description": "The PublicKeyCredential the browser returned, as JSON: id, rawId, type "
                "('public-key'), response (clientDataJSON, attestationObject or authenticatorData and "
                "signature, base64url), authenticatorAttachment, clientExtensionResults."
            },
            **kwargs,
        )


class SecurityKeyCeremony(Schema):
    """Options for navigator.credentials (create: a registration; get: a sign-in) and the token to send back."""

    public_key = fields.Dict(
        required=True,
        metadata={
            "description": "PublicKeyCredentialCreationOptions (registration) or PublicKeyCredentialRequestOptions "
            "(sign-in) as JSON: the challenge, user.id and credential ids in base64url."
        },
    )
    ceremony_token = fields.String(
        required=True, metadata={"description": "Send it back with the browser's answer; valid expires_in seconds."}
    )
    expires_in = fields.Integer(required=True)


class SecurityKeyRegistrationStart(Strict):
    """An empty object: the bearer token names the staff member."""


class SecurityKeyRegistration(Strict):
    ceremony_token = fields.String(required=True, load_only=True, validate=_CEREMONY_TOKEN)
    name = fields.String(required=True, load_only=True, validate=_KEY_NAME)
    credential = WebAuthnAnswer()


class SecurityKey(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True, required=True)


class SecurityKeyList(Schema):
    keys = fields.List(fields.Nested(SecurityKey), required=True)


class SecurityKeySignInStart(Strict):
    challenge_token = fields.String(required=True, load_only=True, validate=_CHALLENGE_TOKEN)


class SecurityKeyAnswer(SecurityKeySignInStart):
    ceremony_token = fields.String(required=True, load_only=True, validate=_CEREMONY_TOKEN)
    credential = WebAuthnAnswer()


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
    redirect_uri = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "One of the provider's registered redirect URIs (else 422); the first by default."},
    )


class VerificationStarted(Schema):
    verification_id = fields.UUID(required=True)
    provider = fields.String(required=True)
    authorization_url = fields.String(
        required=True, metadata={"description": "Send the citizen's browser here (the provider's sign-in page)."}
    )
    state = fields.String(
        required=True,
        metadata={
            "description": "Keep it in the server-side session; the provider returns it with the code, and it "
            "must match before the callback is called. Usable once."
        },
    )
    expires_at = fields.DateTime(required=True)


_OAUTH_ERROR = validate.Regexp(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,200}$", error="An OAuth 2.0 error code.")


class VerificationCallback(Strict):
    """What the provider sent the browser back with: ``code`` and ``state``, or ``error`` and ``state``."""

    state = fields.String(required=True, validate=validate.Length(min=10, max=200))
    code = fields.String(load_default=None, validate=validate.Length(min=1, max=2000))
    error = fields.String(load_default=None, validate=_OAUTH_ERROR)
    error_description = fields.String(load_default=None, validate=validate.Length(max=2000))

    @validates_schema
    def _code_or_error(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("code") is None) == (data.get("error") is None):
            raise ValidationError("Exactly one of code and error.", "_schema")


class Verified(Schema):
    citizen_id = fields.UUID(required=True)
    verified = fields.Boolean(dump_default=True)
    method = fields.String(required=True, validate=validate.OneOf(["eid_provider", "counter"]))
    provider = fields.String(metadata={"description": "The identification provider (method eid_provider)."})
    verification_id = fields.UUID(metadata={"description": "The verification attempt (method eid_provider)."})
    assurance_level = fields.String(required=True, validate=validate.OneOf(["substantial", "high"]))
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


class MembersQuery(Strict):
    unit = fields.String(required=True, validate=_UNIT)
    role = fields.String(load_default=None, validate=validate.OneOf([r.value for r in StaffRole]))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=500))


class UnitMember(Schema):
    staff_id = fields.UUID(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True, metadata={"description": "The roles held in this unit."})


class UnitMembers(Schema):
    unit = fields.String(required=True)
    members = fields.List(fields.Nested(UnitMember), required=True)


class StaffAccountsQuery(Strict):
    unit = fields.String(load_default=None, validate=_UNIT)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AdministeredStaffAccount(StaffAccount):
    second_factor_enrolled = fields.Boolean(required=True)
    password_set = fields.Boolean(required=True)


class StaffAccountPage(Schema):
    items = fields.List(fields.Nested(AdministeredStaffAccount), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
