"""The second factor of a staff sign-in, and enrolling an authenticator app.

After a right password identity-svc answers a staff member with a short-lived challenge (kept in
the server-side session, never in the browser), at one of two steps:

- ``second_factor``: the code page asks for the 6-digit code of the authenticator app, or one of
  the recovery codes — or, for a member with security keys, offers the key first (a script of our
  own asks the browser for the key's signature: :mod:`console.areas.security_keys`; without
  JavaScript the code form is all there is); the answer ends the sign-in;
- ``enrolment``: the account has no authenticator yet and may only enrol one: the enrolment page
  shows the QR code (and the secret, for typing by hand) and asks for the first code, which ends
  the sign-in; the recovery codes are then shown once.

A member signed in without an authenticator (where identity-svc does not require one) enrols on
the same page from the home page's link.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.auth import call_api, is_signed_in, login_required
from mai_webkit.forms import PageForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import Length, Optional, Regexp

from .auth import finish_sign_in
from .security_keys import ScriptAnswerForm, browser_answer, webauthn_failed

__all__ = ["CHALLENGE", "blueprint", "keep_challenge"]

blueprint = Blueprint("second_factor", __name__)

#: The sign-in waiting for its second step: {"token", "step", "next", "expires_at"}.
CHALLENGE = "sign_in_challenge"
#: The enrolment being shown (secret, URI, QR code) until the first code confirms it.
ENROLMENT = "authenticator_enrolment"
#: Recovery codes to show once, right after the enrolment.
RECOVERY_CODES = "recovery_codes_to_show"

_CODE = Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=lazy_gettext("Enter the 6 digits your authenticator app shows"))


class CodeForm(PageForm):
    code = StringField(lazy_gettext("Code from the authenticator app"), validators=[Optional(), _CODE])
    recovery_code = StringField(lazy_gettext("Or a recovery code"), validators=[Optional(), Length(min=10, max=20)])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if bool(self.code.data) == bool(self.recovery_code.data):
            self.page_errors.append(str(gettext("Enter either the code from the app or a recovery code")))
            return False
        return True


class EnrolmentForm(PageForm):
    code = StringField(
        lazy_gettext("Code from the authenticator app"),
        validators=[_CODE],
    )


def keep_challenge(answer: dict[str, Any], next_path: str) -> str:
    """Keep the password step's challenge and give the page of the next step."""
    session[CHALLENGE] = {
        "token": answer["challenge_token"],
        "step": answer["step"],
        "methods": [str(m) for m in answer.get("methods", [])],
        "next": next_path,
        "expires_at": time.time() + int(answer.get("expires_in", 0)),
    }
    session.pop(ENROLMENT, None)
    endpoint = "second_factor.code" if answer["step"] == "second_factor" else "second_factor.enrol"
    return url_for(endpoint)


def _challenge(step: str) -> dict[str, Any] | None:
    challenge = session.get(CHALLENGE)
    if not isinstance(challenge, dict) or challenge.get("step") != step or challenge["expires_at"] < time.time():
        return None
    return challenge


def _start_again() -> ResponseReturnValue:
    session.pop(CHALLENGE, None)
    session.pop(ENROLMENT, None)
    return redirect(url_for("auth.sign_in"), code=303)


def _code_refusal(problem: ApiProblem) -> str | None:
    if problem.kind == "second-factor-refused":
        return str(gettext("The code is wrong or was already used. Wait for the next code and try again."))
    if problem.status == 429:
        return str(gettext("Too many failed attempts. Wait a few minutes, then try again."))
    return None


def _render_code_page(challenge: dict[str, Any], form: CodeForm, status: int) -> ResponseReturnValue:
    methods = challenge.get("methods") or ["totp", "recovery_code"]
    return render_template("auth/code.html", form=form, methods=methods), status


def _key_refused(challenge: dict[str, Any], message: str | None = None) -> ResponseReturnValue:
    form = CodeForm(formdata=None)
    if message is None:
        message = (
            gettext("The security key was not accepted. Try again, or enter the code from the authenticator app.")
            if "totp" in challenge.get("methods", ["totp"])
            else gettext("The security key was not accepted. Try again.")
        )
    form.page_errors.append(str(message))
    return _render_code_page(challenge, form, 400)


def _end_sign_in(challenge: dict[str, Any], pair: dict[str, Any]) -> ResponseReturnValue:
    session.pop(CHALLENGE, None)
    if finish_sign_in(pair):
        abort(403)
    return redirect(challenge["next"], code=303)


@blueprint.route("/sign-in/code", methods=["GET", "POST"], endpoint="code")
def code_page() -> ResponseReturnValue:
    challenge = _challenge("second_factor")
    if challenge is None:
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        body = {"challenge_token": challenge["token"]}
        if form.code.data:
            body["code"] = form.code.data
        else:
            body["recovery_code"] = form.recovery_code.data or ""
        try:
            pair = api().post("/api/v1/auth/second-factor", json=body).json()
        except ApiProblem as problem:
            if problem.kind == "second-factor-challenge-ended":
                return _start_again()
            refused = _code_refusal(problem)
            if refused is None:
                raise
            form.page_errors.append(refused)
            form.code.data = form.recovery_code.data = ""
            return _render_code_page(challenge, form, 400)
        return _end_sign_in(challenge, pair)
    return _render_code_page(challenge, form, 400 if form.is_submitted() else 200)


@blueprint.post("/sign-in/security-key/options", endpoint="security_key_options")
def security_key_options() -> ResponseReturnValue:
    """For the script: identity-svc's options for ``navigator.credentials.get`` (JSON); the ceremony
    token stays in the session beside the sign-in's challenge."""
    challenge = _challenge("second_factor")
    if challenge is None:
        return webauthn_failed(str(gettext("The sign-in has expired. Sign in again.")))
    try:
        answer = (
            api()
            .post("/api/v1/auth/second-factor/security-key/options", json={"challenge_token": challenge["token"]})
            .json()
        )
    except ApiProblem as problem:
        if problem.status == 429:
            return webauthn_failed(str(gettext("Too many failed attempts. Wait a few minutes, then try again.")), 429)
        if problem.kind in ("second-factor-challenge-ended", "second-factor-not-pending"):
            return webauthn_failed(str(gettext("The sign-in has expired. Sign in again.")))
        raise
    session[CHALLENGE] = {**challenge, "ceremony": answer["ceremony_token"]}
    return jsonify({"publicKey": answer["public_key"]}), 200, {"Cache-Control": "no-store"}


@blueprint.post("/sign-in/security-key", endpoint="security_key")
def security_key_page() -> ResponseReturnValue:
    """The browser's answer (put in the form by the script) ends the sign-in, or the code page says why not."""
    challenge = _challenge("second_factor")
    if challenge is None:
        return _start_again()
    form = ScriptAnswerForm()
    answer = browser_answer(form) if form.validate_on_submit() else None
    ceremony = challenge.get("ceremony")
    session[CHALLENGE] = {k: v for k, v in challenge.items() if k != "ceremony"}  # each ceremony is answered once
    if answer is None or not isinstance(ceremony, str):
        return _key_refused(challenge)
    body = {"challenge_token": challenge["token"], "ceremony_token": ceremony, "credential": answer}
    try:
        pair = api().post("/api/v1/auth/second-factor/security-key", json=body).json()
    except ApiProblem as problem:
        if problem.kind == "second-factor-challenge-ended" and challenge["expires_at"] < time.time():
            return _start_again()
        if problem.status == 429:
            return _key_refused(challenge, gettext("Too many failed attempts. Wait a few minutes, then try again."))
        if problem.kind not in ("second-factor-refused", "second-factor-challenge-ended"):
            raise
        return _key_refused(challenge)
    return _end_sign_in(challenge, pair)


def _shown_enrolment(challenge: dict[str, Any] | None) -> dict[str, Any]:
    """The enrolment on show: started once per visit (a reload shows the same secret)."""
    shown = session.get(ENROLMENT)
    if isinstance(shown, dict):
        return shown
    if challenge is not None:
        answer = api().post("/api/v1/auth/second-factor/totp/enrolment", json={"challenge_token": challenge["token"]})
    else:
        answer = call_api("POST", "/api/v1/auth/second-factor/totp/enrolment", json={})
    enrolment = answer.json()
    shown = {k: enrolment[k] for k in ("secret", "otpauth_uri", "qr_svg")}
    session[ENROLMENT] = shown
    return shown


def _render_enrolment(form: EnrolmentForm, shown: dict[str, Any], status: int) -> ResponseReturnValue:
    secret = shown["secret"]
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    qr = Markup(shown["qr_svg"])  # noqa: S704 (identity-svc's own SVG of the otpauth URI, no script)
    return render_template("auth/enrol.html", form=form, qr=qr, secret=secret, grouped=grouped), status


@blueprint.route("/sign-in/authenticator", methods=["GET", "POST"], endpoint="enrol")
def enrol_page() -> ResponseReturnValue:
    challenge = _challenge("enrolment")
    if challenge is None and not is_signed_in():
        return _start_again()
    try:
        shown = _shown_enrolment(challenge)
    except ApiProblem as problem:
        if problem.kind == "second-factor-challenge-ended":
            return _start_again()
        if problem.kind == "second-factor-exists":
            return redirect(url_for("home.index"), code=303)
        raise
    form = EnrolmentForm()
    if form.validate_on_submit():
        body: dict[str, Any] = {"code": form.code.data}
        try:
            if challenge is not None:
                body["challenge_token"] = challenge["token"]
                confirmed = api().post("/api/v1/auth/second-factor/totp/enrolment/confirmation", json=body).json()
            else:
                confirmed = call_api("POST", "/api/v1/auth/second-factor/totp/enrolment/confirmation", json=body).json()
        except ApiProblem as problem:
            refused = _code_refusal(problem)
            if refused is None:
                raise
            form.page_errors.append(refused)
            form.code.data = ""
            return _render_enrolment(form, shown, 400)
        session.pop(ENROLMENT, None)
        next_path = url_for("home.index")
        if challenge is not None:
            session.pop(CHALLENGE, None)
            next_path = challenge["next"]
            if finish_sign_in(confirmed["tokens"]):
                abort(403)
        session[RECOVERY_CODES] = {"codes": confirmed["recovery_codes"], "next": next_path}
        return redirect(url_for("second_factor.recovery_codes"), code=303)
    return _render_enrolment(form, shown, 400 if form.is_submitted() else 200)


@blueprint.get("/authenticator/recovery-codes", endpoint="recovery_codes")
@login_required
def recovery_codes_page() -> ResponseReturnValue:
    """The ten recovery codes, shown this once (a reload shows them no more)."""
    shown = session.pop(RECOVERY_CODES, None)
    if not isinstance(shown, dict):
        return redirect(url_for("home.index"), code=303)
    response = render_template("auth/recovery_codes.html", codes=shown["codes"], next_path=shown["next"])
    return response, 200, {"Cache-Control": "no-store"}
