"""Intake: a petition clerk registers a petition that reached the institution by post, by e-mail or at
a counter (``POST /api/v1/petitions/intake``), sees its registration number and answer deadline,
and prints the receipt when the petitioner gave no e-mail address (the number is mailed otherwise).

The clerk chooses among their own institutions only; the API checks the role in the unit again.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, public_json
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, chosen_files, files_within, phone_field, show_problem
from mai_webkit.i18n import localised
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from ..staff import PETITION_CLERK, staff_only
from .petitions import CHANNEL_NAMES, clerk_units

__all__ = ["IntakeForm", "blueprint"]

blueprint = Blueprint("intake", __name__, url_prefix="/petitions/intake")

#: The API's limits on attachments (petition-svc's MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES).
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ACCEPTED_TYPES = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
_REGISTERED = "intake_registered"
#: The API's field names where the form's differ.
FIELD_MAP = {"petition": "text"}


class IntakeForm(PageForm):
    submission_id = HiddenField()
    institution = SelectField(
        lazy_gettext("Registering institution"),
        validators=[DataRequired(lazy_gettext("Choose the institution that registers it"))],
    )
    channel = RadioField(
        lazy_gettext("How did it reach the institution?"),
        choices=[SelectChoice(code, label) for code, label in CHANNEL_NAMES.items() if code != "web"],
        validators=[InputRequired(lazy_gettext("Choose how the petition was received"))],
    )
    received_on = DateField(
        lazy_gettext("Day received"),
        validators=[InputRequired(lazy_gettext("Enter the day the petition was received, like 2026-03-27"))],
    )
    kind = RadioField(
        lazy_gettext("What is it?"),
        choices=[
            SelectChoice("petition", lazy_gettext("A petition (must be answered)")),
            SelectChoice("opinion", lazy_gettext("An opinion or a suggestion")),
        ],
        default="petition",
        validators=[InputRequired(lazy_gettext("Choose whether it is a petition or an opinion"))],
    )
    field = SelectField(
        lazy_gettext("What is it about?"),
        validators=[DataRequired(lazy_gettext("Choose the field of activity"))],
    )
    name = StringField(
        lazy_gettext("Petitioner's full name"),
        validators=[
            DataRequired(lazy_gettext("Enter the petitioner's full name")),
            Length(min=2, max=200, message=lazy_gettext("The name must be 2 to 200 characters")),
        ],
    )
    address = TextAreaField(
        lazy_gettext("Postal address"),
        validators=[
            Optional(),
            Length(min=5, max=500, message=lazy_gettext("The address must be 5 to 500 characters")),
        ],
    )
    email = EmailField(
        lazy_gettext("E-mail address (optional)"),
        validators=[
            Optional(),
            Email(lazy_gettext("Enter an e-mail address like name@example.com")),
            Length(max=254),
        ],
    )
    phone = phone_field()
    language = RadioField(
        lazy_gettext("Language of the e-mails"),
        choices=[SelectChoice("ro", "Română"), SelectChoice("en", "English")],
        default="ro",
        validators=[InputRequired()],
    )
    subject = StringField(
        lazy_gettext("Subject"),
        validators=[
            DataRequired(lazy_gettext("Enter the subject")),
            Length(max=200, message=lazy_gettext("The subject must be at most 200 characters")),
        ],
    )
    text = TextAreaField(
        lazy_gettext("Text of the petition"),
        validators=[
            DataRequired(lazy_gettext("Enter the text of the petition")),
            Length(max=10_000, message=lazy_gettext("The text must be at most 10,000 characters")),
        ],
    )
    attachments = MultipleFileField(
        lazy_gettext("Scanned pages (optional)"), validators=[files_within(MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES)]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if not (self.email.data or "").strip() and not (self.address.data or "").strip():
            self.address.errors = [
                *self.address.errors,
                gettext("Enter a postal address or an e-mail address: the answer must reach the petitioner"),
            ]
            valid = False
        return valid


def _intake_form(units: list[str]) -> IntakeForm:
    form = IntakeForm()
    institutions = {i["code"]: i for i in public_json("/api/v1/institutions")["items"]}
    form.institution.choices = [
        SelectChoice(code, f"{localised(institutions[code]['name'])} ({code})" if code in institutions else code)
        for code in units
    ]
    fields: dict[str, Any] = {}
    for institution in institutions.values():
        for item in institution["fields"]:
            fields.setdefault(item["code"], item)
    form.field.choices = [SelectChoice("", gettext("Choose a field"))] + [
        SelectChoice(code, localised(item["name"])) for code, item in fields.items()
    ]
    return form


def _page(form: IntakeForm, status: int = 200) -> ResponseReturnValue:
    return render_template("intake/new.html", form=form, accepted_types=ACCEPTED_TYPES), status


@blueprint.get("", endpoint="new")
@staff_only(PETITION_CLERK)
def new_intake() -> ResponseReturnValue:
    units = clerk_units()
    if not units:
        abort(403)
    form = _intake_form(units)
    wanted = request.args.get("institution", "")
    if wanted and wanted not in units:
        abort(403)  # a unit that is not the clerk's: nothing to register there
    form.institution.data = wanted or units[0]
    form.received_on.data = date.today()
    form.submission_id.data = uuid.uuid4().hex
    return _page(form)


def _payload(form: IntakeForm) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "channel": form.channel.data,
        "received_on": form.received_on.data.isoformat() if form.received_on.data else None,
        "institution": form.institution.data,
        "kind": form.kind.data,
        "field": form.field.data,
        "subject": (form.subject.data or "").strip(),
        "text": form.text.data,
        "name": (form.name.data or "").strip(),
        "language": form.language.data,
    }
    for name in ("email", "address", "phone"):
        value = (getattr(form, name).data or "").strip()
        if value:
            payload[name] = value
    return payload


@blueprint.post("", endpoint="register")
@staff_only(PETITION_CLERK)
def register_intake() -> ResponseReturnValue:
    units = clerk_units()
    form = _intake_form(units)
    if not form.validate_on_submit():
        return _page(form, 400)
    if form.institution.data not in units:
        abort(403)
    uploads = chosen_files(form.attachments)
    files = [
        ("attachments", (upload.filename, upload.stream, upload.mimetype or "application/octet-stream"))
        for upload in uploads
    ]
    payload = _payload(form)
    submission_id = form.submission_id.data or ""
    headers = {"Idempotency-Key": f"intake-{submission_id}"} if _SUBMISSION_ID.match(submission_id) else {}
    body: dict[str, Any] = {"data": {"petition": json.dumps(payload)}, "files": files} if files else {"json": payload}
    try:
        answer = call_api("POST", "/api/v1/petitions/intake", headers=headers, **body).json()
    except ApiProblem as problem:
        if problem.status >= 500 and problem.status != 503:
            raise
        if problem.status == 403:
            abort(403)
        show_problem(form, problem, field_map=FIELD_MAP)
        return _page(form, problem.status if problem.status in (409, 413, 415, 422, 503) else 400)
    session[_REGISTERED] = {
        "registration_number": answer["registration_number"],
        "kind": answer["kind"],
        "institution": answer["institution"],
        "channel": answer["channel"],
        "received_on": answer["received_on"],
        "answer_due_on": answer["answer_due_on"],
        "attachment_count": answer.get("attachment_count", 0),
        "petitioner_mailed": answer["petitioner_mailed"],
    }
    return redirect(url_for("intake.registered"), code=303)


@blueprint.get("/registered", endpoint="registered")
@staff_only(PETITION_CLERK)
def registered() -> ResponseReturnValue:
    petition = session.get(_REGISTERED)
    if not petition:
        return redirect(url_for("intake.new"), code=303)
    return render_template("intake/registered.html", petition=petition, channel_names=CHANNEL_NAMES)


@blueprint.get("/receipts/<number>", endpoint="receipt")
@staff_only(PETITION_CLERK)
def receipt(number: str) -> Response:
    """The registration receipt (PDF) from the API, as a download that no cache keeps."""
    try:
        printed = call_api("GET", f"/api/v1/petitions/{quote(number, safe='')}/receipt")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise
    if not printed.content.startswith(b"%PDF-"):
        abort(502)
    safe_number = "".join(c for c in number if c.isascii() and (c.isalnum() or c == "-"))[:40] or "petition"
    response = Response(printed.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{safe_number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
