"""Certificate clerks: a criminal-record certificate found by its registration number, its history
(requested, referred, decided, issued, revoked; how often it was verified), and its revocation with a
reason, sent only from a confirmation page that says what revoking does.

The API shows a clerk only the certificates issued in their units: another unit's number is "not
found", exactly like a number nobody was given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, public_json
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import current_language
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..staff import CERTIFICATE_CLERK, staff_only

__all__ = ["blueprint", "purpose_names"]

blueprint = Blueprint("certificates", __name__, url_prefix="/certificates")

#: A certificate's registration number as printed (the API normalises case and spaces).
CERTIFICATE_NUMBER = r"^\s*[A-Za-z0-9]{2,12}-\d{4}-\d{1,10}\s*$"
STATUS_NAMES = {
    "valid": lazy_gettext("Valid"),
    "expired": lazy_gettext("Expired"),
    "revoked": lazy_gettext("Revoked"),
}
REASON_NAMES = {
    "issued_in_error": lazy_gettext("Issued in error"),
    "registry_updated": lazy_gettext("The criminal record registry was updated"),
    "holder_request": lazy_gettext("At the holder's request"),
    "other": lazy_gettext("Another reason (explain it in the note)"),
}
EVENT_NAMES = {
    "requested": lazy_gettext("Requested"),
    "referred": lazy_gettext("Referred to a counter"),
    "referral_decided": lazy_gettext("Referral decided at the counter"),
    "issued": lazy_gettext("Issued"),
    "revoked": lazy_gettext("Revoked"),
}
CHANNEL_NAMES = {
    "online": lazy_gettext("online"),
    "web": lazy_gettext("online"),
    "counter": lazy_gettext("at a counter"),
}


def purpose_names() -> dict[str, str]:
    """Each certificate purpose's name in the page's language (record-svc's public list)."""
    label = "label_en" if current_language() == "en" else "label_ro"
    return {item["code"]: item[label] for item in public_json("/api/v1/certificates/purposes")["items"]}


class FindForm(PageForm):
    class Meta:
        csrf = False  # a search by GET: it changes nothing

    number = StringField(
        lazy_gettext("Certificate number"),
        validators=[
            DataRequired(lazy_gettext("Enter the number printed on the certificate")),
            Regexp(CERTIFICATE_NUMBER, message=lazy_gettext("Enter a number like CJ-2026-0004512")),
        ],
    )


class RevocationForm(PageForm):
    reason = RadioField(
        lazy_gettext("Why is it revoked? (the holder is told)"),
        choices=[SelectChoice(code, name) for code, name in REASON_NAMES.items()],
        validators=[InputRequired(lazy_gettext("Choose why the certificate is revoked"))],
    )
    note = TextAreaField(
        lazy_gettext("Note for the audit trail (required for another reason)"),
        validators=[Optional(), Length(max=1000, message=lazy_gettext("The note must be at most 1,000 characters"))],
    )


def _number_path(number: str, tail: str = "") -> str:
    return f"/api/v1/certificates/numbers/{quote(number, safe='')}{tail}"


def _certificate(number: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The certificate and its history, or 404 (not issued in the clerk's units)."""
    try:
        certificate = call_api("GET", _number_path(number)).json()
        history = call_api("GET", _number_path(number, "/history")).json()
    except ApiProblem as problem:
        if problem.status in (403, 404, 422):
            abort(404)
        raise
    return certificate, history


@blueprint.get("", endpoint="find")
@staff_only(CERTIFICATE_CLERK)
def find() -> ResponseReturnValue:
    form = FindForm(request.args)
    if "number" not in request.args:
        return render_template("certificates/find.html", form=form)
    if not form.validate():
        return render_template("certificates/find.html", form=form), 400
    number = (form.number.data or "").strip().upper()
    try:
        call_api("GET", _number_path(number))
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            form.number.errors = [gettext("No certificate with this number was issued in your units.")]
        else:
            show_problem(form, problem)
        return render_template("certificates/find.html", form=form), 404 if problem.status == 404 else 400
    return redirect(url_for("certificates.certificate", number=number), code=303)


def _show(number: str, status: int = 200, revocation: RevocationForm | None = None) -> ResponseReturnValue:
    certificate, history = _certificate(number)
    return (
        render_template(
            "certificates/certificate.html",
            certificate=certificate,
            history=history,
            form=revocation or RevocationForm(formdata=None),
            status_names=STATUS_NAMES,
            reason_names=REASON_NAMES,
            event_names=EVENT_NAMES,
            channel_names=CHANNEL_NAMES,
            purpose_names=purpose_names(),
        ),
        status,
    )


@blueprint.get("/<number>", endpoint="certificate")
@staff_only(CERTIFICATE_CLERK)
def certificate_page(number: str) -> ResponseReturnValue:
    return _show(number)


@blueprint.post("/<number>/revocation", endpoint="revoke")
@staff_only(CERTIFICATE_CLERK)
def revoke(number: str) -> ResponseReturnValue:
    """First the confirmation page (step absent), then the revocation (step "confirm")."""
    form = RevocationForm()
    if not form.validate():
        return _show(number, 400, form)
    note = (form.note.data or "").strip()
    if form.reason.data == "other" and not note:
        form.note.errors = [gettext("Say why the certificate is revoked")]
        return _show(number, 400, form)
    if request.form.get("step") != "confirm":
        certificate, _ = _certificate(number)
        if certificate["status"] == "revoked":
            form.page_errors.append(gettext("This certificate is already revoked."))
            return _show(number, 400, form)
        return render_template(
            "certificates/revoke_confirm.html", certificate=certificate, form=form, reason_names=REASON_NAMES
        )
    try:
        call_api("POST", _number_path(number, "/revocation"), json={"reason": form.reason.data, "note": note or None})
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            abort(404)
        show_problem(form, problem)
        return _show(number, 400, form)
    flash(gettext("The certificate is revoked; its holder is told and every check now says so."), "success")
    return redirect(url_for("certificates.certificate", number=number), code=303)
