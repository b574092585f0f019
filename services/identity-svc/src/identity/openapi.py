"""The OpenAPI 3.1 document of identity-svc, built from the marshmallow schemas (apispec)."""

from __future__ import annotations

from functools import cache
from typing import Any

from mai_chassis.openapi import PROBLEM_SCHEMA, service_spec

from . import schemas
from .units import CounterUnitList, CounterUnitSchema

_PROBLEM = PROBLEM_SCHEMA

# (method, path, tag, summary, request schema, (status, response schema or None), problem statuses, auth)
_OPERATIONS: list[tuple[str, str, str, str, Any, tuple[int, Any], tuple[int, ...], bool]] = [
    (
        "post",
        "/api/v1/accounts",
        "accounts",
        "Register a citizen account (the same 202 whether or not the address is already registered)",
        schemas.Registration,
        (202, schemas.Accepted),
        (409, 415, 422, 428),
        False,
    ),
    (
        "get",
        "/api/v1/accounts/email-confirmation",
        "accounts",
        "Page the mailed link opens: a form that confirms only when submitted (POST)",
        None,
        (200, None),
        (),
        False,
    ),
    (
        "post",
        "/api/v1/accounts/email-confirmation",
        "accounts",
        "Confirm the e-mail address with the mailed code (JSON or form)",
        schemas.EmailConfirmation,
        (204, None),
        (400, 415, 422),
        False,
    ),
    (
        "post",
        "/api/v1/accounts/email-confirmation/resend",
        "accounts",
        "Mail a new confirmation code",
        schemas.EmailOnly,
        (202, schemas.Accepted),
        (415, 422, 428),
        False,
    ),
    (
        "get",
        "/api/v1/accounts/me/export",
        "accounts",
        "Download my data: one ZIP (README.txt and one JSON file per service: identity, petitions, certificates, "
        "immigration, notifications), gathered from each service with my own token; never cached (503 "
        "export-source-unavailable while a service cannot answer: no partial download)",
        None,
        (200, None),
        (401, 403, 429, 503),
        True,
    ),
    (
        "delete",
        "/api/v1/accounts/me",
        "accounts",
        "Delete my account, confirmed with the current password: sessions end, identity-svc's data goes, every "
        "other service follows the account.deleted event; the answer lists what is kept (unlinked) and why, and "
        "a mail says the same (403 password-refused; 429 after repeated wrong passwords)",
        schemas.AccountDeletionRequest,
        (200, schemas.AccountDeletion),
        (401, 403, 415, 422, 429),
        True,
    ),
    (
        "post",
        "/api/v1/auth/login",
        "auth",
        "Log in: a short-lived access token, a refresh token and this device's token (send it with later "
        "logins: strangers' failed logins never slow a known device down; 429 while this client must wait); "
        "a staff account gets a second-factor challenge instead",
        schemas.Login,
        (200, schemas.Tokens),
        (401, 403, 415, 422, 429),
        False,
    ),
    (
        "post",
        "/api/v1/auth/second-factor",
        "auth",
        "Second step of a staff sign-in: the challenge token and a TOTP code or a recovery code give the tokens",
        schemas.SecondFactorAnswer,
        (200, schemas.Tokens),
        (401, 409, 415, 422, 429),
        False,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/totp/enrolment",
        "auth",
        "Start a TOTP enrolment (mid sign-in with the challenge token, or signed in as staff): the secret, "
        "its otpauth:// URI and QR code, shown once",
        schemas.TotpEnrolmentStart,
        (201, schemas.TotpEnrolment),
        (401, 403, 409, 415, 422),
        False,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/totp/enrolment/confirmation",
        "auth",
        "Confirm the enrolment with a first code: the factor becomes active, ten recovery codes are shown "
        "once (and, mid sign-in, the tokens)",
        schemas.TotpEnrolmentConfirmation,
        (200, schemas.ConfirmedEnrolment),
        (401, 403, 409, 415, 422, 429),
        False,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/security-keys/registration",
        "auth",
        "Start registering a security key or passkey (signed in as staff): the options for "
        "navigator.credentials.create and the ceremony token to send back with its answer",
        schemas.SecurityKeyRegistrationStart,
        (201, schemas.SecurityKeyCeremony),
        (401, 403, 409, 415, 422),
        True,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/security-keys",
        "auth",
        "Register the security key the browser made, under a name of the member's choosing (Idempotency-Key accepted)",
        schemas.SecurityKeyRegistration,
        (201, schemas.SecurityKey),
        (400, 401, 403, 409, 415, 422),
        True,
    ),
    (
        "get",
        "/api/v1/auth/second-factor/security-keys",
        "auth",
        "The signed-in staff member's own security keys (names and dates)",
        None,
        (200, schemas.SecurityKeyList),
        (401, 403),
        True,
    ),
    (
        "delete",
        "/api/v1/auth/second-factor/security-keys/{key_id}",
        "auth",
        "Remove one of the signed-in staff member's own security keys",
        None,
        (204, None),
        (401, 403, 404),
        True,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/security-key/options",
        "auth",
        "Second step of a staff sign-in with a security key: the options for navigator.credentials.get "
        "(the member's keys) and the ceremony token",
        schemas.SecurityKeySignInStart,
        (200, schemas.SecurityKeyCeremony),
        (401, 409, 415, 422, 429),
        False,
    ),
    (
        "post",
        "/api/v1/auth/second-factor/security-key",
        "auth",
        "Second step of a staff sign-in with a security key: the browser's signed answer gives the tokens",
        schemas.SecurityKeyAnswer,
        (200, schemas.Tokens),
        (401, 409, 415, 422, 429),
        False,
    ),
    (
        "post",
        "/api/v1/auth/refresh",
        "auth",
        "Rotate the refresh token; reusing a rotated one ends the whole session",
        schemas.RefreshRequest,
        (200, schemas.Tokens),
        (401, 415, 422),
        False,
    ),
    (
        "post",
        "/api/v1/auth/logout",
        "auth",
        "End the session of this refresh token",
        schemas.RefreshRequest,
        (204, None),
        (415, 422),
        False,
    ),
    (
        "post",
        "/api/v1/auth/password-reset",
        "auth",
        "Mail a password-reset code",
        schemas.EmailOnly,
        (202, schemas.Accepted),
        (415, 422, 428),
        False,
    ),
    (
        "post",
        "/api/v1/auth/password-reset/confirm",
        "auth",
        "Set a new password with the mailed code",
        schemas.PasswordReset,
        (204, None),
        (400, 415, 422),
        False,
    ),
    (
        "get",
        "/api/v1/identity/profiles/{citizen_id}",
        "identity",
        "Read your civil-status profile ('me')",
        None,
        (200, schemas.Profile),
        (401, 404),
        True,
    ),
    (
        "patch",
        "/api/v1/identity/profiles/{citizen_id}",
        "identity",
        "Edit your civil-status profile (identity fields frozen from the start of a verification: 409)",
        schemas.ProfileChanges,
        (200, schemas.Profile),
        (401, 404, 409, 415, 422),
        True,
    ),
    (
        "post",
        "/api/v1/identity/verifications",
        "identity",
        "Start identity verification with an OpenID Connect identification provider",
        schemas.VerificationStart,
        (201, schemas.VerificationStarted),
        (401, 403, 409, 415, 422, 503),
        True,
    ),
    (
        "post",
        "/api/v1/identity/verifications/callback",
        "identity",
        "Finish identity verification with what the provider sent back (code or error, and state)",
        schemas.VerificationCallback,
        (200, schemas.Verified),
        (400, 401, 403, 404, 409, 410, 415, 422, 503),
        True,
    ),
    (
        "post",
        "/api/v1/identity/counter-code",
        "identity",
        "A short code to show at a police counter",
        None,
        (201, schemas.CounterCodeIssued),
        (401, 403, 409),
        True,
    ),
    (
        "get",
        "/api/v1/identity/counter-units",
        "identity",
        "Police units with a public counter (identity checked in person, certificate referrals): address, hours",
        None,
        (200, CounterUnitList),
        (),
        False,
    ),
    (
        "get",
        "/api/v1/identity/counter-units/{code}",
        "identity",
        "One police counter unit: address, opening hours, the ID documents it checks",
        None,
        (200, CounterUnitSchema),
        (404,),
        False,
    ),
    (
        "post",
        "/api/v1/staff/counter/lookups",
        "staff",
        "Counter clerk: find a citizen account by e-mail or shown code",
        schemas.CounterLookup,
        (200, schemas.CounterAccount),
        (401, 403, 404, 415, 422),
        True,
    ),
    (
        "post",
        "/api/v1/staff/counter/verifications",
        "staff",
        "Counter clerk: record the checked ID document and verify the identity",
        schemas.CounterVerification,
        (200, schemas.Verified),
        (401, 403, 404, 409, 415, 422),
        True,
    ),
    (
        "post",
        "/api/v1/staff/accounts",
        "staff",
        "Admin: create a staff account (invited by e-mail)",
        schemas.NewStaffAccount,
        (201, schemas.StaffAccount),
        (401, 403, 409, 415, 422),
        True,
    ),
    (
        "post",
        "/api/v1/staff/accounts/{staff_id}/roles",
        "staff",
        "Admin: grant a role in a unit",
        schemas.RoleGrant,
        (200, schemas.StaffAccount),
        (401, 403, 404, 415, 422),
        True,
    ),
    (
        "delete",
        "/api/v1/staff/accounts/{staff_id}/roles/{role}/{unit}",
        "staff",
        "Admin: revoke a role in a unit",
        None,
        (200, schemas.StaffAccount),
        (401, 403, 404, 422),
        True,
    ),
    (
        "get",
        "/api/v1/staff/members",
        "staff",
        "Staff: the members of one of your units (`unit`, optional `role`): id, name, roles there",
        None,
        (200, schemas.UnitMembers),
        (401, 403, 422),
        True,
    ),
    (
        "get",
        "/api/v1/staff/accounts",
        "staff",
        "Admin: the staff accounts of the units one administers (by name; roles, authenticator enrolled)",
        None,
        (200, schemas.StaffAccountPage),
        (401, 403, 422),
        True,
    ),
    (
        "get",
        "/api/v1/staff/accounts/{staff_id}",
        "staff",
        "Admin: one staff account of the units one administers (404 for another's)",
        None,
        (200, schemas.AdministeredStaffAccount),
        (401, 403, 404),
        True,
    ),
    (
        "delete",
        "/api/v1/staff/accounts/{staff_id}/second-factor",
        "staff",
        "Admin: reset a member's lost second factor (authenticator and recovery codes forgotten, sessions "
        "ended; the member enrols again at the next sign-in); never one's own",
        None,
        (204, None),
        (401, 403, 404, 409),
        True,
    ),
    (
        "get",
        "/.well-known/jwks.json",
        "auth",
        "Public keys that verify access tokens (JWKS)",
        None,
        (200, None),
        (),
        False,
    ),
]


_DESCRIPTIONS = {
    ("post", "/api/v1/identity/verifications"): (
        "Identity verification is the OpenID Connect authorization code flow with PKCE. The citizen's "
        "client (the portal) starts it with the citizen's token and sends the browser to "
        "`authorization_url`; it keeps `state` in its server-side session. `redirect_uri` must be one of "
        "the provider's registered redirect URIs (422 otherwise); without it the first is used. The "
        "attempt is bound to the account that started it and expires at `expires_at`. 503 "
        "`provider-unavailable`: the provider's metadata cannot be read; try again later."
    ),
    ("post", "/api/v1/identity/verifications/callback"): (
        "The provider sends the browser back to the redirect URI with `code` and `state` (or `error`). "
        "The portal checks that `state` is the one in its session, then posts them here with the token of "
        "the same citizen: identity-svc exchanges the code (client secret and PKCE verifier), verifies the "
        "ID token against the provider's keys (issuer, audience, expiry, nonce), maps its claims, checks "
        "them against the account's civil-status data and the assurance level (`acr`) against the "
        "provider's minimum, and marks the account verified. A `state` is used once, whatever the outcome. "
        "Problems (`type` ends with): 404 `not-found` (unknown state, or started by another account: the "
        "attempt is then spent), 409 `verification-used`, 410 `verification-expired`, 400 `provider-error` "
        "(with `provider_error`, e.g. `access_denied`), 400 `identification-refused` (code or ID token not "
        "accepted), 422 `assurance-too-low` (with `asserted` and `required`), 422 `identity-mismatch` "
        "(with `fields`), 409 `already-verified`, 409 `identity-in-use` (this person already verifies "
        "another account), 503 `provider-unavailable`. "
        "The former GET and form POST callback without a token, carrying a signed `answer`, no longer "
        "exists: the provider never calls identity-svc directly."
    ),
}


_SECOND_FACTOR_DESCRIPTION = (
    "Staff accounts sign in in two steps. `POST /api/v1/auth/login` with a staff member's right password "
    "answers 200 with a `SecondFactorChallenge` (no tokens): `challenge_token` is valid `expires_in` "
    "seconds (SECOND_FACTOR_CHALLENGE_SECONDS) and is accepted by the second-factor endpoints only. "
    "With `step` = `second_factor`, send it with the 6-digit `code` of the authenticator app (RFC 6238: "
    "30-second steps, one step of clock skew either way; a code is accepted once, a later code of the "
    "same or an earlier step is refused) or one of the ten `recovery_code`s (each works once). With "
    "`step` = `enrolment` (STAFF_SECOND_FACTOR=required and no active authenticator), the account may "
    "only enrol: start the enrolment, show the QR code, and confirm it with a first code; the confirmation "
    "ends the sign-in. Wrong codes are throttled like failed logins (429 with Retry-After). Every sign-in, "
    "refused code, enrolment and recovery-code use is recorded on the staff audit trail (audit-svc's "
    "`GET /api/v1/audit/actions`). Staff sessions last "
    "STAFF_SESSION_MAX_SECONDS (10 hours), citizens' SESSION_MAX_SECONDS. Problems: 401 "
    "`second-factor-refused`, 401 `second-factor-challenge-ended` (sign in again), 409 "
    "`second-factor-exists`, 409 `second-factor-not-pending`, 429 `login-throttled`."
)

_SECURITY_KEY_DESCRIPTION = (
    "Security keys and passkeys (WebAuthn) are a second factor beside the authenticator app. A staff "
    "member registers them while signed in (several, each with a name; at most SECURITY_KEYS_MAX): "
    "`POST .../security-keys/registration` gives `public_key` (PublicKeyCredentialCreationOptions as "
    "JSON, binary members in base64url) for `navigator.credentials.create` and a `ceremony_token`; the "
    "browser's answer (`PublicKeyCredential.toJSON()`) goes to `POST .../security-keys` with the token and "
    "the key's name. At sign-in, once the password gave a `SecondFactorChallenge` whose `methods` include "
    "`security_key`, `POST .../security-key/options` with the `challenge_token` gives the options for "
    "`navigator.credentials.get` (the member's keys only), and `POST .../security-key` with both tokens "
    "and the browser's answer gives the tokens. A ceremony's challenge is valid WEBAUTHN_CHALLENGE_SECONDS "
    "and is accepted once; the answer must come from one of WEBAUTHN_ORIGINS for the relying party "
    "WEBAUTHN_RP_ID, be signed by the key, and carry a signature counter greater than the last one seen "
    "(unless the key keeps none). Refused answers count like wrong codes. Every step is on the staff "
    "audit log. Problems: 400 `security-key-refused`, 409 `security-key-ceremony-ended` (start the "
    "registration again), 409 `security-key-name-taken`, 409 `security-key-exists`, 409 "
    "`security-key-limit`, 401 `second-factor-refused`, 401 `second-factor-challenge-ended`, 409 "
    "`second-factor-not-pending` (the account has no key), 429 `login-throttled`."
)

_SECOND_FACTOR_PATHS = ("/api/v1/auth/login", "/api/v1/auth/second-factor")

#: The anonymous forms that create an account or send mail: past a per-client threshold they may
#: need a solved challenge (only where FORM_CHALLENGE is on).
_CHALLENGED = {
    ("post", "/api/v1/accounts"),
    ("post", "/api/v1/accounts/email-confirmation/resend"),
    ("post", "/api/v1/auth/password-reset"),
}
_CHALLENGE_DESCRIPTION = (
    "Where FORM_CHALLENGE=proof-of-work, a client that sent more than FORM_CHALLENGE_AFTER of the "
    "anonymous forms that create an account or send mail (registration, a new confirmation code, a "
    "password reset) within FORM_CHALLENGE_WINDOW_SECONDS gets 428 `challenge-required` with a "
    "`challenge` (`kind`, `challenge`, `bits`, `expires_at`, `instructions`): find a nonce such that "
    "SHA-256(challenge + ':' + nonce) starts with `bits` zero bits and send the same request again with "
    "the header `Proof-Of-Work: <challenge>:<nonce>`. Each solution is accepted once; a request refused "
    "with 428 may be sent again with the same Idempotency-Key."
)
_PROOF_OF_WORK_PARAMETER = {
    "name": "Proof-Of-Work",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 300},
    "description": "`<challenge>:<nonce>` answering the challenge of a 428 challenge-required "
    "(only where FORM_CHALLENGE is on, for clients past its threshold).",
}


#: Query parameters of the reads that take some.
_QUERY_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/api/v1/staff/accounts"): [
        {
            "name": "unit",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "Only the members holding a role in this unit (one the caller administers).",
        },
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {
            "name": "per_page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        },
    ],
}


@cache
def openapi_document() -> dict[str, Any]:
    spec = service_spec(
        title="MAI e-services — accounts and identity",
        description="Citizen and staff accounts, login, identity verification and civil-status profiles.",
        schemas={
            "Problem": _PROBLEM,
            "Tokens": schemas.Tokens,
            "SecondFactorChallenge": schemas.SecondFactorChallenge,
        },
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, tag, summary, request_schema, (status, response_schema), problems, secured in _OPERATIONS:
        operation: dict[str, Any] = {"tags": [tag], "summary": summary, "responses": {}}
        if (method, path) in _DESCRIPTIONS:
            operation["description"] = _DESCRIPTIONS[(method, path)]
        if path.startswith(_SECOND_FACTOR_PATHS):
            operation["description"] = " ".join(
                filter(None, (operation.get("description"), _SECOND_FACTOR_DESCRIPTION))
            )
        if "/security-key" in path:
            operation["description"] = _SECURITY_KEY_DESCRIPTION
        if (method, path) in _CHALLENGED:
            operation["description"] = " ".join(filter(None, (operation.get("description"), _CHALLENGE_DESCRIPTION)))
        if request_schema is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": request_schema}}}
        ok: dict[str, Any] = {"description": summary}
        if path == "/api/v1/auth/login":
            ok["content"] = {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Tokens"},
                            {"$ref": "#/components/schemas/SecondFactorChallenge"},
                        ]
                    }
                }
            }
        elif path == "/api/v1/accounts/me/export":
            ok["content"] = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
        elif response_schema is not None:
            ok["content"] = {"application/json": {"schema": response_schema}}
        operation["responses"][str(status)] = ok
        for problem in (*problems, 500):
            operation["responses"][str(problem)] = {
                "description": "Problem details",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        if secured:
            operation["security"] = [{"bearer": []}]
        parameters = [
            {"name": part.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
            for part in path.split("/")
            if part.startswith("{")
        ]
        if (method, path) in _CHALLENGED:
            parameters.append(_PROOF_OF_WORK_PARAMETER)
        parameters.extend(_QUERY_PARAMETERS.get((method, path), []))
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
