"""Signing staff in (e-mail and password, checked by identity-svc) and out.

The sign-in is a sequence of steps, each its own page, with what is known so far kept in the
server-side session: the password step, then the second factor identity-svc asks a staff member
for — a code of the authenticator app, or enrolling one (:mod:`console.areas.auth_second_factor`).
Only staff accounts get a session here: a citizen's correct password is refused, and its tokens revoked.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import (
    answer_sign_in,
    request_tokens,
    revoke_tokens,
    safe_next,
    sign_in_form,
    sign_in_refusal,
    sign_out,
    start_session,
    token_claims,
)
from mai_webkit.forms import PageForm, password_field
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

__all__ = ["SignInForm", "blueprint", "finish_sign_in"]


blueprint = Blueprint("auth", __name__)


class SignInForm(PageForm):
    email = EmailField(
        lazy_gettext("Work e-mail address"),
        validators=[
            DataRequired(lazy_gettext("Enter your work e-mail address")),
            Email(lazy_gettext("Enter an e-mail address like name@mai.gov.ro")),
            Length(max=254),
        ],
    )
    password = password_field()


def _refusal(problem: ApiProblem) -> str:
    return sign_in_refusal(
        problem,
        disabled=str(gettext("This account is disabled. Ask an administrator of your unit.")),
        unconfirmed=str(gettext("Set your password first with the code in the invitation e-mail.")),
    )


def finish_sign_in(pair: dict[str, Any]) -> str | None:
    """The token pair ends the sign-in if it is a staff member's; else why not."""
    if token_claims(pair.get("access_token", "")).get("kind") != "staff":
        revoke_tokens(pair)
        return str(gettext("This console is for ministry staff. Citizens sign in on the e-services portal."))
    start_session(pair)
    return None


@blueprint.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> ResponseReturnValue:
    form = SignInForm()
    home = url_for("home.index")
    next_path = safe_next(request.values.get("next"), default=home)
    if form.validate_on_submit():
        from .auth_second_factor import keep_challenge

        refused: str | None
        try:
            answer = request_tokens(form.email.data or "", form.password.data or "")
            if "challenge_token" in answer:  # a staff member's right password: the second factor follows
                return redirect(keep_challenge(answer, next_path), code=303)
            refused = finish_sign_in(answer)
        except ApiProblem as problem:
            refused = _refusal(problem)
        return answer_sign_in(form, next_path, refused, welcome=gettext("You are signed in."))
    return sign_in_form(form, next_path)


@blueprint.post("/sign-out", endpoint="sign_out")
def sign_out_page() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("auth.sign_in"), code=303)
