"""Signing in (e-mail and password, checked by identity-svc) and signing out."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import answer_sign_in, safe_next, sign_in, sign_in_form, sign_in_refusal, sign_out
from mai_webkit.forms import PageForm, password_field

from ..form_fields import email_field

__all__ = ["SignInForm", "blueprint"]

blueprint = Blueprint("auth", __name__)


class SignInForm(PageForm):
    email = email_field()
    password = password_field()


def _refusal(problem: ApiProblem) -> str:
    return sign_in_refusal(
        problem,
        disabled=str(gettext("This account is disabled. Contact us to find out why.")),
        unconfirmed=str(gettext("Confirm your e-mail address first: open the link in the e-mail we sent you.")),
    )


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
        return answer_sign_in(form, next_path, refused, welcome=gettext("You are signed in."))
    return sign_in_form(form, next_path)


@blueprint.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    sign_out()
    return redirect("/", code=303)
