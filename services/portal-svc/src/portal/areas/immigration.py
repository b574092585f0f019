"""Immigration applications: the types and what each needs, a new application, its documents, submit,
the status timeline and pickup; and the offices' pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_wtf.file import FileField, FileRequired
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api, is_signed_in, login_required
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import WEEKDAYS
from wtforms import HiddenField, RadioField, SelectField
from wtforms.validators import InputRequired

from .immigration_views import (
    APPLICATION_STATUSES,
    DOCUMENT_STATUSES,
    TIMELINE_EVENTS,
    application_types,
    check_id,
    language,
    local_date,
    local_datetime,
    localized,
    office,
    offices,
    status_colour,
)

__all__ = ["MAX_DOCUMENT_BYTES", "blueprint"]

blueprint = Blueprint("immigration", __name__)

#: The largest scan the API accepts (booking-svc's published limit).
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
_DOCUMENT_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class NewApplicationForm(PageForm):
    application_type = RadioField(
        lazy_gettext("What do you apply for?"),
        validators=[InputRequired(message=lazy_gettext("Choose what you apply for"))],
    )
    office = SelectField(
        lazy_gettext("Immigration office"),
        validators=[InputRequired(message=lazy_gettext("Choose the office where you will go"))],
    )
    #: Sent as the API's Idempotency-Key: the same form sent twice creates one application.
    request_key = HiddenField()


class DocumentForm(PageForm):
    file = FileField(
        lazy_gettext("Choose the scan"),
        validators=[FileRequired(message=lazy_gettext("Choose the file to upload"))],
    )


class ConfirmForm(PageForm):
    """A form with only its CSRF token: a button that changes something."""


# --- helpers -------------------------------------------------------------------------------------


def _application(application_id: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", f"/api/v1/immigration/applications/{application_id}").json())
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        raise


def _uploadable(application: dict[str, Any], document: dict[str, Any]) -> bool:
    """What the API lets the applicant replace now (see booking-svc's rules)."""
    if application["status"] == "draft":
        return True
    return bool(application["status"] == "changes_requested" and document["status"] == "rejected")


def _submittable(application: dict[str, Any]) -> bool:
    statuses = [d["status"] for d in application["documents"]]
    return application["status"] in ("draft", "changes_requested") and all(
        s in ("uploaded", "accepted") for s in statuses
    )


def _document_names(application_type: str) -> dict[str, str]:
    kind = application_types().get(application_type, {})
    return {d["code"]: localized(d["name"]) for d in kind.get("required_documents", [])}


def _type_name(code: str) -> str:
    kind = application_types().get(code)
    return localized(kind["name"]) if kind else code


def _office_name(code: str) -> str:
    known = offices().get(code)
    return str(known["name"]) if known else code


def _render_application(
    application: dict[str, Any], forms: dict[str, DocumentForm] | None = None, status: int = 200
) -> ResponseReturnValue:
    names = _document_names(application["application_type"])
    forms = dict(forms or {})
    for document in application["documents"]:
        if _uploadable(application, document) and document["document_type"] not in forms:
            forms[document["document_type"]] = DocumentForm(prefix=document["document_type"], formdata=None)
    failed = next((f for f in forms.values() if f.errors or f.page_errors), None)
    body = render_template(
        "immigration/application.html",
        application=application,
        type_name=_type_name(application["application_type"]),
        office_name=_office_name(application["office"]),
        document_names=names,
        forms=forms,
        failed_form=failed,
        submit_form=ConfirmForm(formdata=None) if _submittable(application) else None,
        statuses=APPLICATION_STATUSES,
        document_statuses=DOCUMENT_STATUSES,
        timeline_events=TIMELINE_EVENTS,
        colour=status_colour,
        local_datetime=local_datetime,
        local_date=local_date,
        max_mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
    )
    return body, status


# --- what can be applied for ---------------------------------------------------------------------


@blueprint.get("/immigration")
def index() -> ResponseReturnValue:
    kinds = [
        {
            "code": kind["code"],
            "name": localized(kind["name"]),
            "documents": [localized(d["name"]) for d in kind["required_documents"]],
        }
        for kind in application_types().values()
    ]
    mine: list[dict[str, Any]] = []
    if is_signed_in():
        mine = list(call_api("GET", "/api/v1/immigration/applications").json()["items"])
    return render_template(
        "immigration/index.html",
        kinds=kinds,
        applications=mine,
        type_name=_type_name,
        statuses=APPLICATION_STATUSES,
        colour=status_colour,
        local_datetime=local_datetime,
        max_mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
    )


@blueprint.get("/applications")
@login_required
def list_applications() -> ResponseReturnValue:
    return redirect(url_for(".index") + "#your-applications", code=303)


@blueprint.route("/applications/new", methods=["GET", "POST"])
@login_required
def new_application() -> ResponseReturnValue:
    form = NewApplicationForm()
    kinds = application_types()
    form.application_type.choices = [(code, localized(kind["name"])) for code, kind in kinds.items()]
    listed = sorted(offices().values(), key=lambda o: (o["code"] != "IGI-B", o["county"]))
    form.office.choices = [
        ("", gettext("Choose an office")),
        *((o["code"], f"{o['county']}: {o['name']}") for o in listed),
    ]
    if not form.request_key.data:
        form.request_key.data = uuid.uuid4().hex
    needs_verification = False
    if form.validate_on_submit():
        try:
            key = form.request_key.data if re.fullmatch(r"[0-9a-f]{32}", form.request_key.data or "") else None
            created = call_api(
                "POST",
                "/api/v1/immigration/applications",
                json={
                    "application_type": form.application_type.data,
                    "office": form.office.data,
                    "language": language(),
                },
                headers={"Idempotency-Key": key or uuid.uuid4().hex},
            ).json()
        except ApiProblem as problem:
            if problem.kind == "identity-not-verified":
                needs_verification = True
                form.page_errors.append(gettext("Verify your identity before you apply."))
            else:
                show_problem(form, problem)
            status = problem.status if problem.status < 500 else 502
            return render_template("immigration/new.html", form=form, needs_verification=needs_verification), status
        flash(gettext("Your application has been started. Upload each document below."), "success")
        return redirect(url_for(".show_application", application_id=created["application_id"]), code=303)
    status = 422 if form.errors else 200
    return render_template("immigration/new.html", form=form, needs_verification=needs_verification), status


# --- one application -----------------------------------------------------------------------------


@blueprint.get("/applications/<application_id>")
@login_required
def show_application(application_id: str) -> ResponseReturnValue:
    return _render_application(_application(check_id(application_id)))


_REFUSALS = {
    "document-too-large": lazy_gettext("The file must be at most 5 MB."),
    "unsupported-document-type": lazy_gettext(
        "The file must be a PDF, JPEG or PNG scan without scripts or attachments."
    ),
    "document-not-rejected": lazy_gettext("Only the documents the officer rejected can be replaced now."),
    "application-not-editable": lazy_gettext("The documents cannot be changed at this stage."),
}


@blueprint.post("/applications/<application_id>/documents/<document_type>")
@login_required
def upload_document(application_id: str, document_type: str) -> ResponseReturnValue:
    application_id = check_id(application_id)
    if not _DOCUMENT_CODE.match(document_type):
        abort(404)
    application = _application(application_id)
    if document_type not in {d["document_type"] for d in application["documents"]}:
        abort(404)
    form = DocumentForm(prefix=document_type)
    status = 422
    if form.validate_on_submit():
        upload = form.file.data
        try:
            content = upload.stream.read(MAX_DOCUMENT_BYTES + 1)
        finally:
            for part in request.files.values():
                part.close()  # the parser's temporary file, now rather than at garbage collection
        if len(content) > MAX_DOCUMENT_BYTES:
            form.file.errors = [str(_REFUSALS["document-too-large"])]
            status = 413
        elif not content:
            form.file.errors = [gettext("The file is empty. Choose the scan of the document.")]
        else:
            try:
                call_api(
                    "PUT",
                    f"/api/v1/immigration/applications/{application_id}/documents/{document_type}",
                    files={"file": (upload.filename or "document", content, "application/octet-stream")},
                )
            except ApiProblem as problem:
                refusal = _REFUSALS.get(problem.kind)
                if refusal is not None:
                    form.file.errors = [str(refusal)]
                else:
                    show_problem(form, problem)
                status = problem.status if problem.status < 500 else 502
            else:
                name = _document_names(application["application_type"]).get(document_type, document_type)
                flash(gettext("Uploaded: %(document)s.", document=name), "success")
                return redirect(
                    url_for(".show_application", application_id=application_id) + f"#document-{document_type}",
                    code=303,
                )
    elif form.csrf_token.errors:
        status = 400
    return _render_application(application, {document_type: form}, status)


@blueprint.post("/applications/<application_id>/submit")
@login_required
def submit_application(application_id: str) -> ResponseReturnValue:
    application_id = check_id(application_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        call_api("POST", f"/api/v1/immigration/applications/{application_id}/submit")
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        if problem.status >= 500:
            raise
        messages = {
            "documents-missing": gettext("Upload every required document first."),
            "documents-still-rejected": gettext("Replace the rejected documents first."),
        }
        flash(messages.get(problem.kind, gettext("The application cannot be submitted at this stage.")), "error")
    else:
        flash(
            gettext("Your application has been submitted. We will e-mail you when the documents are checked."),
            "success",
        )
    return redirect(url_for(".show_application", application_id=application_id), code=303)


# --- offices -------------------------------------------------------------------------------------


@blueprint.get("/offices")
def list_offices() -> ResponseReturnValue:
    listed = sorted(offices().values(), key=lambda o: (o["code"] != "IGI-B", o["county"]))
    return render_template("immigration/offices.html", offices=listed)


@blueprint.get("/offices/<code>")
def show_office(code: str) -> ResponseReturnValue:
    found = office(code)
    hours = [(label, found["opening_hours"].get(day, [])) for day, label in WEEKDAYS]
    return render_template(
        "immigration/office.html",
        office=found,
        hours=hours,
        closed_days=[local_date(d) for d in found.get("closed_days", [])],
    )
