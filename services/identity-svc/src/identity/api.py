"""HTTP API of identity-svc: parse (marshmallow), build the command, run its handler in a unit of
work, render the result with a schema. Domain errors become problems through ``errors.PROBLEMS``."""

from __future__ import annotations

import html

from flask import Blueprint, Response, current_app, g, jsonify, request
from mai_chassis import Principal, Problem, current_principal, idempotent, load_json, require_auth
from mai_chassis.challenges import PROOF_OF_WORK_HEADER
from mai_chassis.web import unit_of_work
from marshmallow import RAISE
from sqlalchemy.exc import IntegrityError

from . import commands, handlers, schemas
from .deps import IdentityDeps
from .metrics import count_sign_in, counting_sign_in
from .personal_data import zip_export

accounts = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts")
auth = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
identity = Blueprint("identity", __name__, url_prefix="/api/v1/identity")
staff = Blueprint("staff", __name__, url_prefix="/api/v1/staff")
internal = Blueprint("internal", __name__, url_prefix="/internal/v1")
well_known = Blueprint("well_known", __name__)

ACCEPTED = {
    "status": "accepted",
    "detail": "If the address can receive it, an e-mail is on its way; check your inbox.",
}


def _deps() -> IdentityDeps:
    return current_app.extensions["identity_deps"]  # type: ignore[no-any-return]


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # require_auth let the request in
    return principal


def _anonymous_client() -> commands.AnonymousClient:
    return commands.AnonymousClient(
        address=request.remote_addr, challenge_answer=request.headers.get(PROOF_OF_WORK_HEADER)
    )


def _accepted() -> tuple[Response, int]:
    return jsonify(schemas.Accepted().dump(ACCEPTED)), 202


# --- accounts ---------------------------------------------------------------------------------


@accounts.post("")
@idempotent
def register() -> tuple[Response, int]:
    body = load_json(schemas.Registration)
    command = commands.RegisterCitizen(**body, client=_anonymous_client())
    try:
        with unit_of_work() as uow:
            handlers.register_citizen(uow, _deps(), command)
    except IntegrityError:
        pass  # the same address registered concurrently: the answer must not differ
    return _accepted()


_CONFIRM_PAGE = """<!doctype html>
<html lang="ro"><head><meta charset="utf-8"><title>Confirmarea adresei de e-mail</title>
<meta name="robots" content="noindex"></head><body>
<h1>Confirmă adresa de e-mail / Confirm your e-mail address</h1>
<form method="post" action="{action}">
<input type="hidden" name="citizen_id" value="{citizen_id}">
<label>Cod / Code <input name="code" value="{code}" autocomplete="one-time-code"></label>
<button type="submit">Confirmă / Confirm</button>
</form></body></html>"""


@accounts.get("/email-confirmation")
def confirmation_page() -> Response:
    """The mailed link lands here; it only shows a form: opening a link never confirms."""
    page = _CONFIRM_PAGE.format(
        action=html.escape(request.path),
        citizen_id=html.escape(request.args.get("citizen_id", "")[:64]),
        code=html.escape(request.args.get("code", "")[:20]),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = "default-src 'none'; form-action 'self'"
    return response


@accounts.post("/email-confirmation")
def confirm_email() -> Response | tuple[str, int]:
    from_form = request.mimetype == "application/x-www-form-urlencoded"
    body = (
        schemas.EmailConfirmation().load(request.form.to_dict(), unknown=RAISE)
        if from_form
        else load_json(schemas.EmailConfirmation)
    )
    with unit_of_work() as uow:
        handlers.confirm_email(
            uow, _deps(), commands.ConfirmEmail(citizen_id=str(body["citizen_id"]), code=body["code"])
        )
    if from_form:
        return Response(
            "<!doctype html><p>Adresa a fost confirmată. / Your address is confirmed.</p>", mimetype="text/html"
        )
    return "", 204


@accounts.post("/email-confirmation/resend")
def resend_confirmation() -> tuple[Response, int]:
    body = load_json(schemas.EmailOnly)
    command = commands.ResendConfirmation(email=body["email"], client=_anonymous_client())
    with unit_of_work() as uow:
        handlers.resend_confirmation(uow, _deps(), command)
    return _accepted()


@accounts.delete("/me")
@require_auth(kind="citizen")
def delete_my_account() -> Response:
    body = load_json(schemas.AccountDeletionRequest)
    command = commands.DeleteAccount(principal=_principal(), password=body["password"])
    with unit_of_work() as uow:
        deletion = handlers.delete_account(uow, _deps(), command)
    return _no_store(jsonify(schemas.AccountDeletion().dump(deletion)))


_EXPORT_README = """MAI e-services: your data / datele dumneavoastră

One JSON file per service of the platform, with everything it holds about your account:
identity-svc (account, civil status, identity verification, sessions), petition-svc (petitions),
record-svc (criminal-record certificates), booking-svc (immigration applications and appointments),
notify-svc (the e-mails sent to you).

Câte un fișier JSON pentru fiecare serviciu al platformei, cu tot ce deține despre contul
dumneavoastră. Păstrați arhiva în siguranță: conține CNP-ul și datele de stare civilă.
"""


@accounts.get("/me/export")
@require_auth(kind="citizen")
def export_my_data() -> Response:
    """One ZIP with every service's data about the caller (gathered with the caller's own token)."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    with unit_of_work() as uow:
        export = handlers.export_account(
            uow, _deps(), commands.ExportAccount(principal=_principal(), bearer_token=token)
        )
    response = Response(zip_export(export.parts, readme=_EXPORT_README), mimetype="application/zip")
    response.headers["Content-Disposition"] = 'attachment; filename="mai-e-services-data.zip"'
    return _no_store(response)


# --- auth -------------------------------------------------------------------------------------


@auth.post("/login")
def log_in() -> Response:
    body = load_json(schemas.Login)
    command = commands.LogIn(
        email=body["email"],
        password=body["password"],
        address=request.remote_addr or "unknown",
        device_token=body["device_token"],
    )
    with counting_sign_in(), unit_of_work() as uow:
        result = handlers.log_in(uow, _deps(), command)
    if isinstance(result, handlers.SecondFactorChallenge):
        count_sign_in("second_factor")
        return _no_store(jsonify(schemas.SecondFactorChallenge().dump(result)))
    count_sign_in("signed_in")
    return jsonify(schemas.Tokens().dump(result))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@auth.post("/second-factor")
def pass_second_factor() -> Response:
    """The second step of a staff sign-in: the challenge token and a TOTP code or a recovery code."""
    body = load_json(schemas.SecondFactorAnswer)
    command = commands.PassSecondFactor(
        challenge_token=body["challenge_token"],
        code=body["code"],
        recovery_code=body["recovery_code"],
        address=request.remote_addr or "unknown",
    )
    with unit_of_work() as uow:
        pair = handlers.pass_second_factor(uow, _deps(), command)
    return _no_store(jsonify(schemas.Tokens().dump(pair)))


def _enrolling_principal(challenge_token: str | None) -> Principal | None:
    """Mid sign-in the challenge token names the account; otherwise the caller's bearer token must."""
    if challenge_token is not None:
        return None
    principal = current_principal()
    if principal is None or principal.kind != "staff":
        raise Problem(403, "This operation is for staff accounts.", kind="forbidden")
    return principal


@auth.post("/second-factor/totp/enrolment")
def start_totp_enrolment() -> tuple[Response, int]:
    body = load_json(schemas.TotpEnrolmentStart)
    command = commands.StartTotpEnrolment(
        principal=_enrolling_principal(body["challenge_token"]), challenge_token=body["challenge_token"]
    )
    with unit_of_work() as uow:
        enrolment = handlers.start_totp_enrolment(uow, _deps(), command)
    return _no_store(jsonify(schemas.TotpEnrolment().dump(enrolment))), 201


@auth.post("/second-factor/totp/enrolment/confirmation")
def confirm_totp_enrolment() -> Response:
    body = load_json(schemas.TotpEnrolmentConfirmation)
    command = commands.ConfirmTotpEnrolment(
        code=body["code"],
        address=request.remote_addr or "unknown",
        principal=_enrolling_principal(body["challenge_token"]),
        challenge_token=body["challenge_token"],
    )
    with unit_of_work() as uow:
        confirmed = handlers.confirm_totp_enrolment(uow, _deps(), command)
    return _no_store(jsonify(schemas.ConfirmedEnrolment().dump(confirmed)))


def _staff_principal() -> Principal:
    principal = current_principal()
    if principal is None or principal.kind != "staff":
        raise Problem(403, "This operation is for staff accounts.", kind="forbidden")
    return principal


@auth.post("/second-factor/security-keys/registration")
def start_security_key_registration() -> tuple[Response, int]:
    """Options for navigator.credentials.create, for the signed-in staff member."""
    load_json(schemas.SecurityKeyRegistrationStart)
    command = commands.StartSecurityKeyRegistration(principal=_staff_principal())
    with unit_of_work() as uow:
        ceremony = handlers.start_security_key_registration(uow, _deps(), command)
    return _no_store(jsonify(schemas.SecurityKeyCeremony().dump(ceremony))), 201


@auth.post("/second-factor/security-keys")
@idempotent
def register_security_key() -> tuple[Response, int]:
    body = load_json(schemas.SecurityKeyRegistration)
    command = commands.RegisterSecurityKey(
        principal=_staff_principal(),
        ceremony_token=body["ceremony_token"],
        name=body["name"],
        credential=body["credential"],
    )
    with unit_of_work() as uow:
        key = handlers.register_security_key(uow, _deps(), command)
    return jsonify(schemas.SecurityKey().dump(key)), 201


@auth.get("/second-factor/security-keys")
def list_security_keys() -> Response:
    command = commands.ListSecurityKeys(principal=_staff_principal())
    with unit_of_work() as uow:
        keys = handlers.list_security_keys(uow, _deps(), command)
    return _no_store(jsonify(schemas.SecurityKeyList().dump({"keys": keys})))


@auth.delete("/second-factor/security-keys/<key_id>")
def remove_security_key(key_id: str) -> tuple[str, int]:
    command = commands.RemoveSecurityKey(principal=_staff_principal(), key_id=key_id)
    with unit_of_work() as uow:
        handlers.remove_security_key(uow, _deps(), command)
    return "", 204


@auth.post("/second-factor/security-key/options")
def start_security_key_sign_in() -> Response:
    """Options for navigator.credentials.get, mid sign-in (the password step's challenge token)."""
    body = load_json(schemas.SecurityKeySignInStart)
    command = commands.StartSecurityKeySignIn(challenge_token=body["challenge_token"])
    with unit_of_work() as uow:
        ceremony = handlers.start_security_key_sign_in(uow, _deps(), command)
    return _no_store(jsonify(schemas.SecurityKeyCeremony().dump(ceremony)))


@auth.post("/second-factor/security-key")
def pass_security_key() -> Response:
    """The second step of a staff sign-in with a security key instead of a code."""
    body = load_json(schemas.SecurityKeyAnswer)
    command = commands.PassSecurityKey(
        challenge_token=body["challenge_token"],
        ceremony_token=body["ceremony_token"],
        credential=body["credential"],
        address=request.remote_addr or "unknown",
    )
    with unit_of_work() as uow:
        pair = handlers.pass_security_key(uow, _deps(), command)
    return _no_store(jsonify(schemas.Tokens().dump(pair)))


@auth.post("/refresh")
def refresh() -> Response:
    body = load_json(schemas.RefreshRequest)
    with unit_of_work() as uow:
        pair = handlers.refresh_session(uow, _deps(), commands.RefreshSession(refresh_token=body["refresh_token"]))
    return jsonify(schemas.Tokens().dump(pair))


@auth.post("/logout")
def log_out() -> tuple[str, int]:
    body = load_json(schemas.RefreshRequest)
    with unit_of_work() as uow:
        handlers.log_out(uow, _deps(), commands.LogOut(refresh_token=body["refresh_token"]))
    return "", 204


@auth.post("/password-reset")
def request_password_reset() -> tuple[Response, int]:
    body = load_json(schemas.EmailOnly)
    command = commands.RequestPasswordReset(email=body["email"], client=_anonymous_client())
    with unit_of_work() as uow:
        handlers.request_password_reset(uow, _deps(), command)
    return _accepted()


@auth.post("/password-reset/confirm")
def reset_password() -> tuple[str, int]:
    body = load_json(schemas.PasswordReset)
    command = commands.ResetPassword(email=body["email"], code=body["code"], new_password=body["new_password"])
    with unit_of_work() as uow:
        handlers.reset_password(uow, _deps(), command)
    return "", 204


@well_known.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = jsonify(_deps().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- identity ---------------------------------------------------------------------------------


@identity.get("/profiles/<citizen_id>")
@require_auth()
def read_profile(citizen_id: str) -> Response:
    with unit_of_work() as uow:
        view = handlers.read_profile(uow, _deps(), commands.ReadProfile(principal=_principal(), citizen_id=citizen_id))
    return jsonify(schemas.Profile().dump(view))


@identity.patch("/profiles/<citizen_id>")
@require_auth()
def update_profile(citizen_id: str) -> Response:
    changes = load_json(schemas.ProfileChanges)
    command = commands.UpdateProfile(principal=_principal(), citizen_id=citizen_id, changes=changes)
    with unit_of_work() as uow:
        view = handlers.update_profile(uow, _deps(), command)
    return jsonify(schemas.Profile().dump(view))


@identity.post("/verifications")
@require_auth(kind="citizen")
def start_verification() -> tuple[Response, int]:
    body = load_json(schemas.VerificationStart)
    command = commands.StartVerification(
        principal=_principal(), provider_name=body["provider"], redirect_uri=body["redirect_uri"]
    )
    with unit_of_work() as uow:
        started = handlers.start_verification(uow, _deps(), command)
    response = jsonify(schemas.VerificationStarted().dump(started))
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@identity.post("/verifications/callback")
@require_auth(kind="citizen")
def finish_verification() -> Response:
    """The portal hands over what the provider sent the browser back with, with the citizen's token."""
    body = load_json(schemas.VerificationCallback)
    command = commands.FinishVerification(
        principal=_principal(), state=body["state"], code=body["code"], error=body["error"]
    )
    with unit_of_work() as uow:
        result = handlers.finish_verification(uow, _deps(), command)
    return jsonify(schemas.Verified().dump(result))


@identity.post("/counter-code")
@require_auth(kind="citizen")
def issue_counter_code() -> tuple[Response, int]:
    with unit_of_work() as uow:
        issued = handlers.issue_counter_code(uow, _deps(), commands.IssueCounterCode(principal=_principal()))
    return jsonify(schemas.CounterCodeIssued().dump(issued)), 201


@internal.get("/civil-status")
@require_auth(kind="citizen")
def civil_status_for_record() -> Response:
    """For record-svc, with the citizen's own token: the only answer that carries the CNP."""
    query = commands.ReadProfile(principal=_principal(), citizen_id="me", with_cnp=True)
    with unit_of_work() as uow:
        view = handlers.read_profile(uow, _deps(), query)
    return jsonify(schemas.CivilStatusForRecord().dump(view))


# --- staff ------------------------------------------------------------------------------------


@staff.post("/counter/lookups")
@require_auth("counter_clerk", kind="staff")
def counter_lookup() -> Response:
    body = load_json(schemas.CounterLookup)
    if bool(body["email"]) == bool(body["counter_code"]):
        raise Problem(
            422,
            "Give either the e-mail address or the code the citizen shows.",
            kind="validation-error",
            errors={"_schema": ["exactly one of email, counter_code"]},
        )
    command = commands.FindForCounter(
        principal=_principal(),
        unit=body["unit"],
        email=body["email"],
        counter_code=body["counter_code"],
        request_id=g.get("request_id"),
    )
    with unit_of_work() as uow:
        found = handlers.find_for_counter(uow, _deps(), command)
    return jsonify(schemas.CounterAccount().dump(found))


@staff.post("/counter/verifications")
@require_auth("counter_clerk", kind="staff")
def counter_verification() -> Response:
    body = load_json(schemas.CounterVerification)
    document = body["document"]
    command = commands.VerifyAtCounter(
        principal=_principal(),
        citizen_id=str(body["citizen_id"]),
        unit=body["unit"],
        document_type=document["type"],
        document_series=document["series"],
        document_number=document["number"],
        cnp=body["cnp"],
        last_name=body["last_name"],
        first_name=body["first_name"],
        request_id=g.get("request_id"),
    )
    with unit_of_work() as uow:
        result = handlers.verify_at_counter(uow, _deps(), command)
    return jsonify(schemas.Verified().dump(result))


@staff.post("/accounts")
@require_auth("admin", kind="staff")
@idempotent
def create_staff_account() -> tuple[Response, int]:
    body = load_json(schemas.NewStaffAccount)
    command = commands.CreateStaffAccount(
        principal=_principal(),
        email=body["email"],
        name=body["name"],
        language=body["language"],
        roles=tuple((r["role"], r["unit"]) for r in body["roles"]),
        request_id=g.get("request_id"),
    )
    with unit_of_work() as uow:
        created = handlers.create_staff_account(uow, _deps(), command)
    response = jsonify(schemas.StaffAccount().dump(created))
    response.headers["Location"] = f"/api/v1/staff/accounts/{created['staff_id']}"
    return response, 201


@staff.post("/accounts/<staff_id>/roles")
@require_auth("admin", kind="staff")
def grant_role(staff_id: str) -> Response:
    body = load_json(schemas.RoleGrant)
    command = commands.GrantRole(
        principal=_principal(), staff_id=staff_id, role=body["role"], unit=body["unit"], request_id=g.get("request_id")
    )
    with unit_of_work() as uow:
        view = handlers.grant_role(uow, _deps(), command)
    return jsonify(schemas.StaffAccount().dump(view))


@staff.delete("/accounts/<staff_id>/roles/<role>/<unit>")
@require_auth("admin", kind="staff")
def revoke_role(staff_id: str, role: str, unit: str) -> Response:
    body = schemas.RoleGrant().load({"role": role, "unit": unit})
    command = commands.RevokeRole(
        principal=_principal(), staff_id=staff_id, role=body["role"], unit=body["unit"], request_id=g.get("request_id")
    )
    with unit_of_work() as uow:
        view = handlers.revoke_role(uow, _deps(), command)
    return jsonify(schemas.StaffAccount().dump(view))


@staff.get("/members")
@require_auth(kind="staff")
def unit_members() -> Response:
    """The staff directory of one of the caller's units: id, name and roles there (to assign work by name)."""
    query = schemas.MembersQuery().load(request.args.to_dict(), unknown=RAISE)
    with unit_of_work() as uow:
        members = handlers.list_unit_members(uow, _deps(), commands.ListUnitMembers(principal=_principal(), **query))
    return jsonify(schemas.UnitMembers().dump({"unit": query["unit"], "members": members}))
