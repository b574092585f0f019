"""Signing in (e-mail and password, checked by identity-svc) and signing out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import safe_next, sign_in, sign_out
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


@blueprint.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> ResponseReturnValue:
    form = SignInForm()
    next_path = safe_next(request.values.get("next"))
    if form.validate_on_submit():
        try:
            sign_in(form.email.data or "", form.password.data or "")
        except ApiProblem as problem:
            if problem.status == 401:
                form.page_errors.append(gettext("The e-mail address or the password is wrong."))
            elif problem.status == 429:
                form.page_errors.append(gettext("Too many failed attempts. Wait a few minutes, then try again."))
            elif problem.kind == "email-unconfirmed":
                form.page_errors.append(
                    gettext("Confirm your e-mail address first: open the link in the e-mail we sent you.")
                )
            elif problem.kind == "account-disabled":
                form.page_errors.append(gettext("This account is disabled. Contact us to find out why."))
            else:
                raise
            form.password.data = ""
            return render_template("auth/sign_in.html", form=form, next_path=next_path), 400
        flash(gettext("You are signed in."), "success")
        return redirect(next_path, code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/sign_in.html", form=form, next_path=next_path), status


@blueprint.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    sign_out()
    return redirect("/", code=303)
