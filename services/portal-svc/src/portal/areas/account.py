"""The citizen's account: register, confirm the e-mail address, forgotten password, profile.

Every answer of identity-svc is turned into a message in the page's language beside the field it is
about. A mailed link's one-time code is moved from the address bar into the server-side session at
once (``?code=`` -> redirect to the bare page), so it stays out of the browser's history; opening a
link never confirms or changes anything: the citizen presses the button.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext, lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.auth import call_api, login_required
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import current_language
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.ro import cnp as stdnum_cnp
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from ..form_fields import email_field, mail_code_field, new_password_fields
from .account_texts import api_field_message

__all__ = [
    "ConfirmEmailForm",
    "EmailForm",
    "ProfileForm",
    "RegisterForm",
    "ResetPasswordForm",
    "blueprint",
    "cnp_problem",
    "editable_fields",
]

blueprint = Blueprint("account", __name__, url_prefix="/account")

LOCAL_TIME = ZoneInfo("Europe/Bucharest")
#: Session keys of what a mailed link brought (never put back in a URL).
PENDING_CONFIRMATION = "account_pending_confirmation"
PENDING_RESET_CODE = "account_pending_reset_code"
REGISTERED_EMAIL = "account_registered_email"


def cnp_problem(value: str) -> str | None:
    """What is wrong with a CNP as typed (spaces forgiven), in the page's language; ``None`` if nothing."""
    digits = "".join(value.split())
    if not digits.isdigit() or len(digits) != 13:
        return str(gettext("A CNP has exactly 13 digits"))
    try:
        stdnum_cnp.validate(digits)
    except InvalidChecksum:
        return str(gettext("The last digit of this CNP does not match the others: check that every digit is right"))
    except InvalidComponent:
        return str(gettext("This CNP has an impossible date of birth or county code: check the digits"))
    except ValidationError:
        return str(gettext("A CNP has exactly 13 digits"))
    return None


def _valid_cnp(_form: Any, field: Field) -> None:
    problem = cnp_problem(field.data or "")
    if problem:
        raise StopValidation(problem)


def _name_field(label: str, missing: str) -> StringField:
    return StringField(label, validators=[DataRequired(missing), Length(max=100)])


class RegisterForm(PageForm):
    last_name = _name_field(lazy_gettext("Last name"), lazy_gettext("Enter your last name"))
    first_name = _name_field(lazy_gettext("First name"), lazy_gettext("Enter your first name"))
    cnp = StringField(
        lazy_gettext("Personal numeric code (CNP)"),
        validators=[DataRequired(lazy_gettext("Enter your CNP")), _valid_cnp],
    )
    email = email_field()
    password, password_again = new_password_fields("password", lazy_gettext("Password"), lazy_gettext("Password again"))


class ConfirmEmailForm(PageForm):
    code = mail_code_field(lazy_gettext("Confirmation code"))


class EmailForm(PageForm):
    email = email_field()


class ResetPasswordForm(EmailForm):
    code = mail_code_field(lazy_gettext("Code from the e-mail"))
    new_password, new_password_again = new_password_fields(
        "new_password", lazy_gettext("New password"), lazy_gettext("New password again")
    )


class ProfileForm(PageForm):
    """What a citizen may change: the address always; birth place and parents' names until verified."""

    address = TextAreaField(lazy_gettext("Home address"), validators=[Optional(), Length(max=500)])
    birth_place = StringField(lazy_gettext("Place of birth"), validators=[Optional(), Length(max=200)])
    father_first_name = StringField(lazy_gettext("Father's first name"), validators=[Optional(), Length(max=100)])
    mother_first_name = StringField(lazy_gettext("Mother's first name"), validators=[Optional(), Length(max=100)])


#: Profile fields a citizen changes here; identity-svc locks all but the address once verified.
EDITABLE_BEFORE_VERIFICATION = ("birth_place", "father_first_name", "mother_first_name", "address")
EDITABLE_AFTER_VERIFICATION = ("address",)


def editable_fields(verified: bool) -> tuple[str, ...]:
    return EDITABLE_AFTER_VERIFICATION if verified else EDITABLE_BEFORE_VERIFICATION


def place_api_errors(form: PageForm, problem: ApiProblem) -> None:
    """The API's field errors as messages in the page's language beside their fields."""
    if problem.status == 428:  # the API asks this connection for a solved challenge: the portal does not solve one
        form.page_errors.append(_challenge_required())
        return
    placed = False
    for name, _messages in problem.field_errors.items():
        field = form._fields.get(name)
        message = api_field_message(name)
        if field is not None and message is not None:
            field.errors = [*list(field.errors or []), message]
            placed = True
    if not placed:
        show_problem(form, problem)


def _challenge_required() -> str:
    return str(
        gettext(
            "Too many accounts or e-mails were requested from your connection recently. Nothing was sent: "
            "try again in an hour, or ask at a police counter."
        )
    )


def _code_refused() -> str:
    return str(gettext("This code is wrong, has expired or was used too many times. Ask for a new one below."))


# --- register ---------------------------------------------------------------------------------


@blueprint.route("/register", methods=["GET", "POST"], endpoint="register")
def register_page() -> ResponseReturnValue:
    form = RegisterForm()
    if form.validate_on_submit():
        payload = {
            "last_name": (form.last_name.data or "").strip(),
            "first_name": (form.first_name.data or "").strip(),
            "cnp": "".join((form.cnp.data or "").split()),
            "email": (form.email.data or "").strip(),
            "password": form.password.data or "",
            "language": current_language(),
        }
        try:
            api().post("/api/v1/accounts", json=payload)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            place_api_errors(form, problem)
        else:
            session[REGISTERED_EMAIL] = payload["email"]
            return redirect(url_for("account.check_email"), code=303)
    form.password.data = form.password_again.data = ""
    status = 400 if form.is_submitted() else 200
    return render_template("account/register.html", form=form), status


@blueprint.get("/register/check-email", endpoint="check_email")
def check_email_page() -> ResponseReturnValue:
    return render_template("account/check_email.html", email=session.get(REGISTERED_EMAIL))


@blueprint.route("/confirm-email/new-code", methods=["GET", "POST"], endpoint="resend_confirmation")
def resend_confirmation_page() -> ResponseReturnValue:
    form = EmailForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip()
        try:
            api().post("/api/v1/accounts/email-confirmation/resend", json={"email": email})
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            place_api_errors(form, problem)
        else:
            session[REGISTERED_EMAIL] = email
            return redirect(url_for("account.check_email"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("account/resend_confirmation.html", form=form), status


# --- confirm the e-mail address ----------------------------------------------------------------


@blueprint.route("/confirm-email", methods=["GET", "POST"], endpoint="confirm_email")
def confirm_email_page() -> ResponseReturnValue:
    if request.method == "GET" and ("code" in request.args or "citizen_id" in request.args):
        # The mailed link: keep what it carries server-side and show the page without it.
        session[PENDING_CONFIRMATION] = {
            "citizen_id": request.args.get("citizen_id", "")[:64],
            "code": request.args.get("code", "")[:20],
        }
        return redirect(url_for("account.confirm_email"), code=303)
    pending = session.get(PENDING_CONFIRMATION) or {}
    citizen_id = str(pending.get("citizen_id") or "")
    form = ConfirmEmailForm(data={"code": pending.get("code", "")})
    if citizen_id and form.validate_on_submit():
        try:
            api().post(
                "/api/v1/accounts/email-confirmation",
                json={"citizen_id": citizen_id, "code": (form.code.data or "").strip()},
            )
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            form.code.errors = [_code_refused()]
        else:
            session.pop(PENDING_CONFIRMATION, None)
            flash(gettext("Your e-mail address is confirmed. You can sign in now."), "success")
            return redirect(url_for("auth.sign_in"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("account/confirm_email.html", form=form, has_link=bool(citizen_id)), status


# --- forgotten password --------------------------------------------------------------------------


@blueprint.route("/forgot-password", methods=["GET", "POST"], endpoint="forgot_password")
def forgot_password_page() -> ResponseReturnValue:
    form = EmailForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip()
        try:
            api().post("/api/v1/auth/password-reset", json={"email": email})
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            place_api_errors(form, problem)
        else:
            return render_template("account/reset_sent.html", email=email)
    status = 400 if form.is_submitted() else 200
    return render_template("account/forgot_password.html", form=form), status


@blueprint.route("/reset-password", methods=["GET", "POST"], endpoint="reset_password")
def reset_password_page() -> ResponseReturnValue:
    if request.method == "GET" and "code" in request.args:
        session[PENDING_RESET_CODE] = request.args.get("code", "")[:20]
        return redirect(url_for("account.reset_password"), code=303)
    form = ResetPasswordForm(data={"code": session.get(PENDING_RESET_CODE, "")})
    if form.validate_on_submit():
        payload = {
            "email": (form.email.data or "").strip(),
            "code": (form.code.data or "").strip(),
            "new_password": form.new_password.data or "",
        }
        try:
            api().post("/api/v1/auth/password-reset/confirm", json=payload)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            if problem.kind == "code-refused" or problem.status == 400:
                form.code.errors = [_code_refused()]
            else:
                place_api_errors(form, problem)
        else:
            session.pop(PENDING_RESET_CODE, None)
            flash(gettext("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("auth.sign_in"), code=303)
    form.new_password.data = form.new_password_again.data = ""
    status = 400 if form.is_submitted() else 200
    return render_template("account/reset_password.html", form=form), status


# --- profile -------------------------------------------------------------------------------------


def read_profile() -> dict[str, Any]:
    """The signed-in citizen's profile from identity-svc (no CNP: its last four digits only)."""
    profile: dict[str, Any] = call_api("GET", "/api/v1/identity/profiles/me").json()
    return profile


@blueprint.get("", endpoint="profile")
@login_required
def profile_page() -> ResponseReturnValue:
    return render_template("account/profile.html", profile=read_profile())


@blueprint.route("/details", methods=["GET", "POST"], endpoint="details")
@login_required
def details_page() -> ResponseReturnValue:
    profile = read_profile()
    verified = bool(profile.get("verified"))
    form = ProfileForm(data={name: profile.get(name) or "" for name in editable_fields(verified)})
    if form.validate_on_submit():
        changes = {name: ((getattr(form, name).data or "").strip() or None) for name in editable_fields(verified)}
        try:
            call_api("PATCH", "/api/v1/identity/profiles/me", json=changes)
        except ApiProblem as problem:
            if problem.status >= 500 or problem.status == 429:
                raise
            place_api_errors(form, problem)
        else:
            flash(gettext("Your details are saved."), "success")
            return redirect(url_for("account.profile"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("account/details.html", form=form, verified=verified), status


# --- dates as a citizen reads them ----------------------------------------------------------------


def _parsed(value: Any) -> date | datetime | None:
    if isinstance(value, date | datetime) or value is None:
        return value
    text = str(value)
    try:
        if "T" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return date.fromisoformat(text)
    except ValueError:
        return None


@blueprint.app_template_filter("account_date")
def account_date(value: Any) -> str:
    """``1980-01-01`` or an ISO moment -> "1 ianuarie 1980" / "January 1, 1980" (Romanian time)."""
    parsed = _parsed(value)
    if parsed is None:
        return "—"
    if isinstance(parsed, datetime):
        return str(format_date(_local(parsed), "long"))
    return str(format_date(parsed, "long"))


@blueprint.app_template_filter("account_datetime")
def account_datetime(value: Any) -> str:
    """An ISO moment in Romanian time: "7 decembrie 2026, 14:30"."""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return account_date(value)
    local = _local(parsed)
    return f"{format_date(local, 'long')}, {local:%H:%M}"


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TIME)
