"""Signing in (e-mail and password, checked by identity-svc) and signing out."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import answer_sign_in, safe_next, sign_in, sign_in_form, sign_out
from mai_webkit.forms import PageForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from ..form_fields import email_field

__all__ = ["SignInForm", "blueprint"]

blueprint = Blueprint("auth", __name__)


class SignInForm(PageForm):
    email = email_field()
    password = PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(lazy_gettext("Enter your password")), Length(max=256)]
    )


def _refusal(problem: ApiProblem) -> str | None:
    if problem.status == 401:
        return str(gettext("The e-mail address or the password is wrong."))
    if problem.status == 429:
        return str(gettext("Too many failed attempts. Wait a few minutes, then try again."))
    if problem.kind == "email-unconfirmed":
        return str(gettext("Confirm your e-mail address first: open the link in the e-mail we sent you."))
    if problem.kind == "account-disabled":
        return str(gettext("This account is disabled. Contact us to find out why."))
    return None


@blueprint.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> ResponseReturnValue:
    form = SignInForm()
    next_path = safe_next(request.values.get("next"))
    if form.validate_on_submit():
        refused: str | None = None
        try:
            sign_in(form.email.data or "", form.password.data or "")
        except ApiProblem as problem:
            refused = _refusal(problem)
            if refused is None:
                raise
        return answer_sign_in(form, next_path, refused, welcome=gettext("You are signed in."))
    return sign_in_form(form, next_path)


@blueprint.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    sign_out()
    return redirect("/", code=303)
