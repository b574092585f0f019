"""Verifying the citizen's identity once: with a bank card (an OpenID Connect identification
provider) or in person at a police counter (a short code to show there).

The bank-card route: the portal asks identity-svc to start a verification, keeps the ``state`` it
gets in the server-side session and sends the browser to the provider; the provider sends it back
to ``/account/verification/callback`` with ``code`` and ``state`` (or ``error``); the portal checks
``state`` against the session and hands both to identity-svc, which redeems the code itself.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from mai_chassis.web import settings_of
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api, login_required, refresh_session
from mai_webkit.forms import PageForm

from .account import read_profile
from .units import counter_units

__all__ = ["BANK_CARD_PROVIDER", "CALLBACK_PATH", "blueprint"]

blueprint = Blueprint("verification", __name__, url_prefix="/account/verification")

#: identity-svc's name of the bank-card identification provider.
BANK_CARD_PROVIDER = "bank-card"
#: Where the provider sends the browser back (registered with the provider as the redirect URI).
CALLBACK_PATH = "/account/verification/callback"
#: The verification under way: the ``state`` identity-svc gave for it.
PENDING_STATE = "verification_state"
COUNTER_CODE = "verification_counter_code"


class StartForm(PageForm):
    """A button: starting a verification changes state, so it is a POST with a CSRF token."""


@blueprint.get("", endpoint="choose")
@login_required
def choose_page() -> ResponseReturnValue:
    profile = read_profile()
    return render_template("account/verification_choose.html", profile=profile, form=StartForm())


@blueprint.post("/bank-card", endpoint="bank_card")
@login_required
def bank_card_start() -> ResponseReturnValue:
    form = StartForm()
    if not form.validate_on_submit():
        return render_template("account/verification_choose.html", profile=read_profile(), form=form), 400
    redirect_uri = settings_of().public_base_url + CALLBACK_PATH
    try:
        started = call_api(
            "POST",
            "/api/v1/identity/verifications",
            json={"provider": BANK_CARD_PROVIDER, "redirect_uri": redirect_uri},
        ).json()
    except ApiProblem as problem:
        if problem.kind == "already-verified":
            flash(gettext("Your identity is already verified."), "success")
            return redirect(url_for("account.profile"), code=303)
        if problem.status == 429:
            raise
        return _result(False, "unavailable")
    session[PENDING_STATE] = str(started["state"])
    return redirect(str(started["authorization_url"]), code=303)


@blueprint.get("/callback", endpoint="callback")
@login_required
def bank_card_callback() -> ResponseReturnValue:
    expected = session.pop(PENDING_STATE, None)
    state = request.args.get("state", "")
    if not expected or not state or not hmac.compare_digest(str(expected), state):
        # Not the verification this browser started (or started twice): nothing is sent on.
        return _result(False, "state")
    body: dict[str, Any] = {"state": state}
    if request.args.get("error"):
        body["error"] = request.args.get("error", "")[:100]
        description = request.args.get("error_description")
        if description:
            body["error_description"] = description[:300]
    else:
        body["code"] = request.args.get("code", "")[:2000]
    try:
        call_api("POST", "/api/v1/identity/verifications/callback", json=body)
    except ApiProblem as problem:
        if problem.kind == "already-verified":
            return _result(True, "already")
        if problem.status == 429:
            raise
        if problem.status >= 500:
            return _result(False, "unavailable")
        if "error" in body:
            return _result(False, "cancelled")
        return _result(False, "mismatch" if problem.kind == "identity-mismatch" else "refused")
    refresh_session()  # the next token carries the new assurance level
    return _result(True, "verified")


def _result(verified: bool, reason: str) -> ResponseReturnValue:
    status = 200 if verified or reason == "cancelled" else 400
    return render_template("account/verification_result.html", verified=verified, reason=reason), status


@blueprint.route("/counter", methods=["GET", "POST"], endpoint="counter")
@login_required
def counter_page() -> ResponseReturnValue:
    form = StartForm()
    issued = session.get(COUNTER_CODE)
    if issued and _expired(str(issued.get("expires_at", ""))):
        issued = None
        session.pop(COUNTER_CODE, None)
    if form.validate_on_submit():
        try:
            issued = call_api("POST", "/api/v1/identity/counter-code").json()
        except ApiProblem as problem:
            if problem.kind != "already-verified":
                raise
            flash(gettext("Your identity is already verified."), "success")
            return redirect(url_for("account.profile"), code=303)
        session[COUNTER_CODE] = issued
        return redirect(url_for("verification.counter"), code=303)
    units, documents = counter_units()
    return render_template(
        "account/verification_counter.html", form=form, issued=issued, units=units, documents=documents
    )


def _expired(moment: str) -> bool:
    try:
        ends = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return True
    return ends.astimezone(UTC) <= datetime.now(UTC)
