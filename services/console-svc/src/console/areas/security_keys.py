"""A member's security keys and passkeys (WebAuthn): register one under a name, list them, remove one.

Registering needs the browser's ``navigator.credentials.create``, so JavaScript
(``static/security-keys.js``, from our own origin: the CSP allows no inline script). The script asks
this page for the options (identity-svc's, whose ceremony token stays in the server-side session),
lets the browser make the key, puts its answer in the form's hidden ``credential`` field and sends
the form as usual; the page answers as any form does. Listing and removing work without JavaScript.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from ..staff import staff_only

__all__ = ["CEREMONY", "ScriptAnswerForm", "blueprint", "browser_answer", "webauthn_failed"]

blueprint = Blueprint("security_keys", __name__)

#: The registration under way: identity-svc's ceremony token (never sent to the browser).
CEREMONY = "security_key_registration"
#: Longest browser answer passed on (identity-svc refuses longer ones too).
MAX_ANSWER = 16 * 1024


class ScriptAnswerForm(PageForm):
    """A form whose ``credential`` the page's script fills with the browser's answer."""

    credential = HiddenField()


class KeyForm(ScriptAnswerForm):
    name = StringField(
        lazy_gettext("Name of the key"),
        validators=[
            DataRequired(lazy_gettext("Enter a name for the key, such as 'Blue key' or 'Work laptop'")),
            Length(max=60, message=lazy_gettext("The name must be 60 characters or fewer")),
        ],
    )


class RemoveForm(PageForm):
    pass


def browser_answer(form: ScriptAnswerForm) -> dict[str, Any] | None:
    """The browser's answer the script put in the form, if there is one that is JSON."""
    raw = form.credential.data or ""
    if not raw or len(raw) > MAX_ANSWER:
        return None
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def webauthn_failed(message: str, status: int = 409) -> ResponseReturnValue:
    """The options call's refusal, for the script to show (it never sees a problem's details)."""
    return jsonify({"message": message}), status, {"Cache-Control": "no-store"}


def _keys() -> list[dict[str, Any]]:
    return list(call_api("GET", "/api/v1/auth/second-factor/security-keys").json()["keys"])


def _when(value: str | None) -> str:
    return format_datetime(datetime.fromisoformat(value), "medium") if value else str(gettext("Not yet"))


def _render(form: KeyForm, status: int = 200) -> ResponseReturnValue:
    keys = [
        {"id": key["id"], "name": key["name"], "added": _when(key["created_at"]), "used": _when(key["last_used_at"])}
        for key in _keys()
    ]
    return render_template("security_keys/index.html", form=form, keys=keys), status


@blueprint.get("/security-keys", endpoint="index")
@staff_only()
def index() -> ResponseReturnValue:
    return _render(KeyForm())


@blueprint.post("/security-keys/options", endpoint="options")
@staff_only()
def registration_options() -> ResponseReturnValue:
    """For the script: identity-svc's options for ``navigator.credentials.create`` (JSON)."""
    try:
        ceremony = call_api("POST", "/api/v1/auth/second-factor/security-keys/registration", json={}).json()
    except ApiProblem as problem:
        if problem.kind == "security-key-limit":
            return webauthn_failed(gettext("You have as many security keys as you may keep. Remove one first."))
        raise
    session[CEREMONY] = ceremony["ceremony_token"]
    return jsonify({"publicKey": ceremony["public_key"]}), 200, {"Cache-Control": "no-store"}


@blueprint.post("/security-keys", endpoint="register")
@staff_only()
def register() -> ResponseReturnValue:
    form = KeyForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    answer, token = browser_answer(form), session.pop(CEREMONY, None)
    if answer is None or not isinstance(token, str):
        form.page_errors.append(
            str(gettext("Your browser did not register a key. Security keys need JavaScript; allow it and try again."))
        )
        return _render(form, 400)
    body = {"ceremony_token": token, "name": (form.name.data or "").strip(), "credential": answer}
    try:
        call_api("POST", "/api/v1/auth/second-factor/security-keys", json=body)
    except ApiProblem as problem:
        if problem.kind == "security-key-name-taken":
            form.name.errors = [str(gettext("You already have a key of this name. Choose another name."))]
        elif problem.kind == "security-key-exists":
            form.page_errors.append(str(gettext("This key is registered already.")))
        elif problem.kind in ("security-key-refused", "security-key-ceremony-ended", "security-key-limit"):
            form.page_errors.append(str(gettext("The key was not registered. Try again.")))
        elif problem.status == 422:
            form.name.errors = [str(gettext("Enter a name of up to 60 letters, digits or spaces"))]
        else:
            raise
        return _render(form, 400)
    flash(gettext("Your security key is registered. You can use it the next time you sign in."), "success")
    return redirect(url_for("security_keys.index"), code=303)


@blueprint.post("/security-keys/<uuid:key_id>/remove", endpoint="remove")
@staff_only()
def remove(key_id: uuid.UUID) -> ResponseReturnValue:
    form = RemoveForm()
    if form.validate_on_submit():
        try:
            call_api("DELETE", f"/api/v1/auth/second-factor/security-keys/{key_id}")
        except ApiProblem as problem:
            if problem.status != 404:
                raise
        flash(gettext("The security key is removed."), "success")
    return redirect(url_for("security_keys.index"), code=303)
