"""Petitions and opinions: the form (with help choosing the institution), the confirmation, and the
public status lookup by registration number and e-mail.

The e-mail address never travels in a URL: the mails link to ``/petitions/status?registration_number=...``
and the page asks for the address; after a successful lookup both are kept in the session and the
result is shown at ``/petitions/status/result`` (reloading it asks the API again).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.auth import call_api, is_signed_in, login_required
from mai_webkit.forms import PageForm, chosen_files, files_within, phone_field, show_problem
from mai_webkit.fragments import render_shared
from mai_webkit.i18n import current_language, localised
from markupsafe import Markup
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..form_fields import email_field
from .directory import directory_document, fields_of_activity, find_institutions, institutions

__all__ = ["PetitionForm", "StatusForm", "blueprint"]

blueprint = Blueprint("petitions", __name__)

MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ACCEPTED_TYPES = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
#: MAI-2026-000123: the institution's code, the year, the sequence.
NUMBER_SHAPE = re.compile(r"^\s*[A-Za-z]{2,12}-\d{4}-\d{1,9}\s*$")
_SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
NOT_FOUND = lazy_gettext(
    "We found no petition with this number and e-mail address. Check both, as in the e-mail we sent you."
)
_INSTITUTION_OPTIONS = "petitions/_institution_options.html"
_PETITION_FIELDS = "petitions/_petition_fields.html"
_INSTITUTION_SEARCH = "petitions/_institution_search.html"
_REGISTERED = "petition_registered"
_LOOKUP = "petition_lookup"

STATUS_LABELS = {
    "registered": lazy_gettext("Registered"),
    "in_progress": lazy_gettext("Being dealt with"),
    "answered": lazy_gettext("Answered"),
    "closed": lazy_gettext("Closed"),
}
STATUS_COLOURS = {"registered": "blue", "in_progress": "yellow", "answered": "green", "closed": "grey"}
OUTCOME_LABELS = {
    "answered": lazy_gettext("Answered"),
    "joined": lazy_gettext("Answered together with another petition"),
    "repeat": lazy_gettext("Closed as a repeat of a petition already answered"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "noted": lazy_gettext("Noted, no answer needed"),
}


class PetitionForm(PageForm):
    submission_id = HiddenField()
    institution = RadioField(
        lazy_gettext("Which institution is it for?"),
        validators=[InputRequired(lazy_gettext("Choose the institution your petition is for"))],
        validate_choice=True,
    )
    kind = RadioField(
        lazy_gettext("What are you sending?"),
        choices=[
            SelectChoice(
                "petition", lazy_gettext("A petition: a request, a complaint or a notification, which must be answered")
            ),
            SelectChoice(
                "opinion", lazy_gettext("An opinion or a suggestion about an employee's work or a regulation")
            ),
        ],
        validators=[InputRequired(lazy_gettext("Choose whether you send a petition or an opinion"))],
    )
    field = SelectField(
        lazy_gettext("What is it about?"),
        validators=[DataRequired(lazy_gettext("Choose what your petition is about"))],
    )
    subject = StringField(
        lazy_gettext("Subject"),
        validators=[DataRequired(lazy_gettext("Enter a subject")), Length(max=200)],
    )
    text = TextAreaField(
        lazy_gettext("Your petition"),
        validators=[
            DataRequired(lazy_gettext("Write your petition")),
            Length(max=10_000, message=lazy_gettext("Your petition must be at most 10,000 characters")),
        ],
    )
    name = StringField(
        lazy_gettext("Full name"),
        validators=[
            DataRequired(lazy_gettext("Enter your full name: anonymous petitions are not dealt with")),
            Length(min=2, max=200),
        ],
    )
    email = email_field()
    phone = phone_field()
    address = StringField(lazy_gettext("Postal address (optional)"), validators=[Optional(), Length(max=500)])
    attachments = MultipleFileField(
        lazy_gettext("Attachments (optional)"), validators=[files_within(MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES)]
    )


class StatusForm(PageForm):
    registration_number = StringField(
        lazy_gettext("Registration number"),
        validators=[
            DataRequired(lazy_gettext("Enter the registration number")),
            Regexp(
                NUMBER_SHAPE,
                message=lazy_gettext("Enter the registration number as in the e-mail, like MAI-2026-000123"),
            ),
        ],
    )
    email = email_field(lazy_gettext("Enter the e-mail address you gave in the petition"))


@blueprint.get("/petitions", endpoint="index")
def petitions_home() -> ResponseReturnValue:
    return render_template("petitions/index.html")


@blueprint.get("/petitions/mine", endpoint="mine")
@login_required
def own_petitions() -> ResponseReturnValue:
    """The signed-in citizen's petitions: those sent while signed in."""
    items = call_api("GET", "/api/v1/petitions/mine").json()["items"]
    return render_template(
        "petitions/mine.html", petitions=items, status_labels=STATUS_LABELS, status_colours=STATUS_COLOURS
    )


def _search() -> tuple[str, str]:
    query = request.values.get("q", "").strip()[:100]
    field = request.values.get("search_field", "").strip()
    return query, field


def _form_page(form: PetitionForm, status: int = 200) -> ResponseReturnValue:
    directory = directory_document()
    everyone = institutions()
    query, search_field = _search()
    shown = find_institutions(everyone, query=query, field=search_field)
    matched = len(shown)
    chosen = form.institution.data
    if chosen and chosen not in {i["code"] for i in shown}:
        shown += [i for i in everyone if i["code"] == chosen]
    # The institutions' radios and the empty form's fields are the same for every visitor of a
    # language: rendered once per directory answer. A search, a choice, data or errors: drawn anew.
    options = {"shown_institutions": shown, "form": form}
    search = {"form": form, "query": query, "search_field": search_field, "fields": fields_of_activity()}
    if query or search_field or chosen:
        institution_options = Markup(render_template(_INSTITUTION_OPTIONS, **options))  # noqa: S704
        institution_search = Markup(render_template(_INSTITUTION_SEARCH, **search))  # noqa: S704
    else:
        institution_options = render_shared(_INSTITUTION_OPTIONS, source=directory, **options)
        institution_search = render_shared(_INSTITUTION_SEARCH, source=directory, **search)
    fields = {"form": form, "accepted_types": ACCEPTED_TYPES}
    if form.is_submitted() or form.field.data or any(field.errors for field in form):
        petition_fields = Markup(render_template(_PETITION_FIELDS, **fields))  # noqa: S704
    else:
        petition_fields = render_shared(_PETITION_FIELDS, source=directory, **fields)
    return (
        render_template(
            "petitions/new.html",
            form=form,
            institution_options=institution_options,
            institution_search=institution_search,
            petition_fields=petition_fields,
            shown_institutions=shown,
            matched=matched,
            query=query,
            search_field=search_field,
            searched=bool(query or search_field),
            accepted_types=ACCEPTED_TYPES,
        ),
        status,
    )


def _petition_form() -> PetitionForm:
    form = PetitionForm()
    form.institution.choices = [SelectChoice(i["code"]) for i in institutions()]
    form.field.choices = [SelectChoice("", gettext("Choose a field"))] + [
        SelectChoice(f["code"], localised(f["name"])) for f in fields_of_activity()
    ]
    return form


@blueprint.get("/petitions/new", endpoint="new")
def new_petition() -> ResponseReturnValue:
    form = _petition_form()
    form.submission_id.data = uuid.uuid4().hex
    wanted = request.args.get("institution", "").upper()
    if wanted in {choice.value for choice in form.institution.choices}:
        form.institution.data = wanted
    _query, search_field = _search()
    if search_field in {choice.value for choice in form.field.choices}:
        form.field.data = search_field
    return _form_page(form)


@blueprint.post("/petitions/new")
def submit_petition() -> ResponseReturnValue:
    form = _petition_form()
    if not form.validate_on_submit():
        return _form_page(form, 400)
    payload: dict[str, Any] = {
        "kind": form.kind.data,
        "institution": form.institution.data,
        "field": form.field.data,
        "subject": form.subject.data,
        "text": form.text.data,
        "name": form.name.data,
        "email": form.email.data,
        "language": current_language(),
    }
    if form.phone.data:
        payload["phone"] = form.phone.data
    if form.address.data:
        payload["address"] = form.address.data
    uploads = chosen_files(form.attachments)
    files = [
        ("attachments", (upload.filename, upload.stream, upload.mimetype or "application/octet-stream"))
        for upload in uploads
    ]
    submission_id = form.submission_id.data or ""
    headers = {"Idempotency-Key": submission_id} if _SUBMISSION_ID.match(submission_id) else {}
    send = call_api if is_signed_in() else api().request
    try:
        # Multipart with the files when there are some (the petition as its JSON part), else plain JSON.
        body: dict[str, Any] = (
            {"data": {"petition": json.dumps(payload)}, "files": files} if files else {"json": payload}
        )
        answer = send("POST", "/api/v1/petitions", headers=headers, **body).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        show_problem(form, problem)
        return _form_page(form, problem.status if problem.status in (409, 413, 415, 422, 429) else 400)
    session[_REGISTERED] = {
        "registration_number": answer["registration_number"],
        "kind": answer["kind"],
        "institution": answer["institution"],
        "answer_due_on": answer["answer_due_on"],
        "attachment_count": answer.get("attachment_count", 0),
    }
    return redirect(url_for("petitions.confirmation"), code=303)


@blueprint.get("/petitions/confirmation", endpoint="confirmation")
def confirmation() -> ResponseReturnValue:
    registered = session.get(_REGISTERED)
    if not registered:
        return redirect(url_for("petitions.new"), code=303)
    return render_template("petitions/confirmation.html", petition=registered)


@blueprint.route("/petitions/status", methods=["GET", "POST"], endpoint="status")
def status_lookup() -> ResponseReturnValue:
    form = StatusForm()
    if request.method == "GET":
        # The mails link here with the number only: the e-mail address is asked, never carried in a URL.
        number = request.args.get("registration_number") or request.args.get("number") or ""
        form.registration_number.data = number.strip()[:40].upper()
        return render_template("petitions/status.html", form=form, autofocus_email=bool(number))
    if not form.validate_on_submit():
        return render_template("petitions/status.html", form=form), 400
    number = (form.registration_number.data or "").strip().upper()
    try:
        api().post(
            "/api/v1/petitions/status-lookup",
            json={"registration_number": number, "email": form.email.data},
            repeatable=True,
        )
    except ApiProblem as problem:
        if problem.status == 404:
            form.page_errors.append(str(NOT_FOUND))
            return render_template("petitions/status.html", form=form), 404
        if problem.status >= 500:
            raise
        show_problem(form, problem)
        return render_template("petitions/status.html", form=form), problem.status
    session[_LOOKUP] = {"registration_number": number, "email": form.email.data}
    return redirect(url_for("petitions.status_result"), code=303)


@blueprint.get("/petitions/status/result", endpoint="status_result")
def status_result() -> ResponseReturnValue:
    lookup = session.get(_LOOKUP)
    if not lookup:
        return redirect(url_for("petitions.status"), code=303)
    try:
        petition = api().post("/api/v1/petitions/status-lookup", json=lookup, repeatable=True).json()
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        session.pop(_LOOKUP, None)
        return redirect(url_for("petitions.status"), code=303)
    return render_template(
        "petitions/status_result.html",
        petition=petition,
        status_label=STATUS_LABELS.get(petition["status"], petition["status"]),
        status_colour=STATUS_COLOURS.get(petition["status"], "grey"),
        outcome_label=OUTCOME_LABELS.get(petition.get("outcome") or "", ""),
    )
