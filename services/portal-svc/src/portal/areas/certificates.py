"""Criminal record certificates: what they are for, applying with the verified civil-status data,
the citizen's certificates and their PDFs, and the public check that the QR code opens."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.auth import call_api, is_signed_in, login_required
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import current_language
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .account import read_profile

__all__ = ["ApplyForm", "VerifyForm", "blueprint"]

blueprint = Blueprint("certificates", __name__, url_prefix="/certificates")

#: The registration number as printed (``CJ-2025-0004512``): letters, digits and dashes.
NUMBER_MAX = 64
STATUS_TAGS = {
    "valid": (lazy_gettext("Valid"), "green"),
    "expired": (lazy_gettext("Expired"), "grey"),
    "revoked": (lazy_gettext("Revoked"), "red"),
    "referred": (lazy_gettext("Referred to a counter"), "yellow"),
    "not_found": (lazy_gettext("Not found"), "red"),
}


def purposes() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api().get("/api/v1/certificates/purposes").json()["items"]
    return items


def purpose_label(item: dict[str, Any]) -> str:
    return str(item["label_en"] if current_language() == "en" else item["label_ro"])


@blueprint.app_context_processor
def _certificate_helpers() -> dict[str, Any]:
    return {"certificate_status_tags": STATUS_TAGS}


class ApplyForm(PageForm):
    purpose = RadioField(
        lazy_gettext("What do you need the certificate for?"),
        validators=[DataRequired(lazy_gettext("Choose what you need the certificate for"))],
        choices=[],
    )
    purpose_text = TextAreaField(
        lazy_gettext("Say what you need it for"), validators=[Optional(), Length(min=3, max=200)]
    )
    #: One application per press of the button, even if the browser sends the form twice.
    request_key = HiddenField()


class VerifyForm(PageForm):
    number = StringField(
        lazy_gettext("Certificate number"),
        validators=[
            DataRequired(lazy_gettext("Enter the certificate number")),
            Length(max=NUMBER_MAX, message=lazy_gettext("Enter the number as printed on the certificate")),
        ],
    )
    cnp = StringField(lazy_gettext("The holder's CNP"), validators=[Optional(), Length(max=16)])
    verification_code = StringField(lazy_gettext("Verification code"), validators=[Optional(), Length(max=32)])


# --- about, list, apply --------------------------------------------------------------------------


@blueprint.get("", endpoint="index")
def index_page() -> ResponseReturnValue:
    mine = call_api("GET", "/api/v1/certificates").json()["items"] if is_signed_in() else None
    catalogue = purposes()
    return render_template(
        "certificates/index.html",
        purposes=catalogue,
        purpose_label=purpose_label,
        certificates=mine,
        purpose_names=_purpose_names(catalogue),
    )


def _purpose_names(catalogue: list[dict[str, Any]] | None = None) -> dict[str, str]:
    return {p["code"]: purpose_label(p) for p in (catalogue if catalogue is not None else purposes())}


@blueprint.route("/new", methods=["GET", "POST"], endpoint="new")
@login_required
def apply_page() -> ResponseReturnValue:
    catalogue = purposes()
    form = ApplyForm()
    form.purpose.choices = [(p["code"], purpose_label(p)) for p in catalogue]
    needs_text = {p["code"] for p in catalogue if p.get("requires_text")}
    profile = read_profile()
    if not form.is_submitted():
        form.request_key.data = str(uuid.uuid4())
    elif form.validate_on_submit() and _purpose_text_given(form, needs_text):
        payload = {
            "purpose": form.purpose.data,
            "purpose_text": (form.purpose_text.data or "").strip() or None if form.purpose.data in needs_text else None,
            "language": current_language(),
        }
        key = form.request_key.data or str(uuid.uuid4())
        try:
            created = call_api(
                "POST", "/api/v1/certificates", json=payload, headers={"Idempotency-Key": key[:64]}
            ).json()
        except ApiProblem as problem:
            if problem.kind == "identity-not-verified":
                return render_template("certificates/new.html", form=form, profile=profile, needs_text=needs_text), 403
            if problem.status >= 500 or problem.status == 429:
                raise
            show_problem(form, problem)
            form.request_key.data = str(uuid.uuid4())
        else:
            return redirect(url_for("certificates.certificate", certificate_id=created["id"]), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("certificates/new.html", form=form, profile=profile, needs_text=needs_text), status


def _purpose_text_given(form: ApplyForm, needs_text: set[str]) -> bool:
    if form.purpose.data in needs_text and len((form.purpose_text.data or "").strip()) < 3:
        form.purpose_text.errors = [gettext("Say in a few words what you need the certificate for")]
        return False
    return True


# --- one certificate ---------------------------------------------------------------------------


def _own_certificate(certificate_id: uuid.UUID) -> dict[str, Any]:
    try:
        found: dict[str, Any] = call_api("GET", f"/api/v1/certificates/{certificate_id}").json()
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise
    return found


@blueprint.get("/<uuid:certificate_id>", endpoint="certificate")
@login_required
def certificate_page(certificate_id: uuid.UUID) -> ResponseReturnValue:
    return render_template(
        "certificates/certificate.html",
        certificate=_own_certificate(certificate_id),
        purpose_names=_purpose_names(),
    )


@blueprint.get("/<uuid:certificate_id>/pdf", endpoint="pdf")
@login_required
def certificate_pdf(certificate_id: uuid.UUID) -> ResponseReturnValue:
    try:
        answer = call_api("GET", f"/api/v1/certificates/{certificate_id}/pdf")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        if problem.status == 410:
            return redirect(url_for("certificates.certificate", certificate_id=certificate_id), code=303)
        raise
    response = Response(answer.content, mimetype="application/pdf")
    disposition = answer.headers.get("Content-Disposition")
    response.headers["Content-Disposition"] = disposition or f'attachment; filename="certificate-{certificate_id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the public check ----------------------------------------------------------------------------


@blueprint.route("/verify", methods=["GET", "POST"], endpoint="verify")
def verify_page() -> ResponseReturnValue:
    number = (request.args.get("number") or request.args.get("registration_number") or "")[:NUMBER_MAX]
    form = VerifyForm(data={"number": number} if request.method == "GET" else None)
    outcome: dict[str, Any] | None = None
    if form.validate_on_submit() and _one_proof(form):
        payload: dict[str, str] = {"number": (form.number.data or "").strip()}
        if form.cnp.data:
            payload["cnp"] = "".join(form.cnp.data.split())
        else:
            payload["verification_code"] = (form.verification_code.data or "").strip()
        try:
            outcome = api().post("/api/v1/certificates/verifications", json=payload).json()
        except ApiProblem as problem:
            if problem.status in (423, 429):
                form.page_errors.append(
                    gettext(
                        "Too many wrong answers were given for this certificate, so checking it is paused for a "
                        "while. Use the verification code printed on the certificate, or try again later."
                    )
                )
            elif problem.status == 422:
                _verification_field_errors(form, problem)
            else:
                raise
        form.cnp.data = ""  # typed once, never sent back in the page
    status = 400 if form.is_submitted() and outcome is None else 200
    return render_template("certificates/verify.html", form=form, outcome=outcome), status


def _one_proof(form: VerifyForm) -> bool:
    """The CNP or the code must be given; when both are (the QR code filled the code and the reader
    typed the CNP), the CNP is the one checked."""
    cnp = "".join((form.cnp.data or "").split())
    code = (form.verification_code.data or "").strip()
    if not cnp and not code:
        form.cnp.errors = [gettext("Enter the holder's CNP or the verification code printed on the certificate")]
        return False
    if cnp and (not cnp.isdigit() or len(cnp) != 13):
        form.cnp.errors = [gettext("A CNP has exactly 13 digits")]
        return False
    return True


def _verification_field_errors(form: VerifyForm, problem: ApiProblem) -> None:
    messages = {
        "number": gettext("Enter the number as printed on the certificate"),
        "cnp": gettext("A CNP has exactly 13 digits"),
        "verification_code": gettext("The verification code has 12 letters and digits, as printed on the certificate"),
    }
    placed = False
    for name in problem.field_errors:
        if name in messages:
            getattr(form, name).errors = [messages[name]]
            placed = True
    if not placed:
        form.page_errors.append(gettext("Check what you entered and try again."))
