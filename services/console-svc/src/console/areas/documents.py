"""Document officers (immigration): the review queue, and an application's documents shown as images
rendered here (:mod:`console.documents`), each accepted or rejected with feedback for the applicant."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, public_json
from mai_webkit.auth import call_api
from mai_webkit.i18n import localised

from ..documents import PageRenderer, RenderedPage, RenderFailed
from ..staff import IMMIGRATION_OFFICER, current_staff, staff_only

__all__ = ["blueprint", "show_application"]

blueprint = Blueprint("documents", __name__, url_prefix="/documents")

MAX_FEEDBACK = 2000
APPLICATION_STATUS_NAMES = {
    "draft": lazy_gettext("Draft"),
    "submitted": lazy_gettext("Waiting for the document review"),
    "changes_requested": lazy_gettext("Changes requested"),
    "documents_accepted": lazy_gettext("Documents accepted"),
    "appointment_booked": lazy_gettext("Appointment booked"),
    "ready_for_pickup": lazy_gettext("Ready for pickup"),
    "closed": lazy_gettext("Closed"),
}
DOCUMENT_STATUS_NAMES = {
    "missing": lazy_gettext("Not uploaded"),
    "uploaded": lazy_gettext("Waiting for a decision"),
    "accepted": lazy_gettext("Accepted"),
    "rejected": lazy_gettext("Rejected"),
}


def _application(application_id: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", f"/api/v1/immigration/applications/{quote(application_id, safe='')}").json())
    except ApiProblem as problem:
        if problem.status in (403, 404, 422):
            abort(404)
        raise


def _application_type(code: str) -> tuple[str, dict[str, str]]:
    """The application type's name and its documents' names, in the page's language."""
    for item in public_json("/api/v1/immigration/application-types")["items"]:
        if item["code"] == code:
            return localised(item["name"]), {d["code"]: localised(d["name"]) for d in item["required_documents"]}
    return code, {}


def _pages(application_id: str, document: dict[str, Any]) -> list[RenderedPage] | None:
    """The document as images, or None when it cannot be shown (the page says so)."""
    renderer: PageRenderer = current_app.extensions["console_renderer"]
    content = call_api(
        "GET",
        f"/api/v1/immigration/applications/{quote(application_id, safe='')}/documents/"
        f"{quote(document['document_type'], safe='')}/content",
    ).content
    try:
        return renderer.render(content, document.get("media_type") or "")
    except RenderFailed as failure:
        current_app.logger.warning("document not rendered: %s", failure)
        return None


@blueprint.get("", endpoint="queue")
@staff_only(IMMIGRATION_OFFICER)
def queue() -> ResponseReturnValue:
    offices = current_staff().units_for(IMMIGRATION_OFFICER)
    office = request.args.get("office", "")
    params = {"office": office} if office and office in offices else {}
    items = call_api("GET", "/api/v1/immigration/review-queue", params=params).json()["items"]
    type_names = {
        i["code"]: localised(i["name"]) for i in public_json("/api/v1/immigration/application-types")["items"]
    }
    return render_template(
        "documents/queue.html", items=items, offices=offices, office=params.get("office", ""), type_names=type_names
    )


def show_application(
    application_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    visit_form: Any = None,
) -> ResponseReturnValue:
    """The application's page (also after a visit or pickup form the API refused)."""
    return _show(_application(application_id), errors, None, status, visit_form=visit_form)


def _show(
    application: dict[str, Any],
    errors: dict[str, str] | None = None,
    given: dict[str, Any] | None = None,
    status: int = 200,
    *,
    visit_form: Any = None,
) -> ResponseReturnValue:
    type_name, names = _application_type(application["application_type"])
    shown = []
    for document in application.get("documents", []):
        pages = _pages(application["application_id"], document) if document["status"] != "missing" else None
        shown.append(
            {**document, "name": names.get(document["document_type"], document["document_type"]), "pages": pages}
        )
    return (
        render_template(
            "documents/application.html",
            application=application,
            type_name=type_name,
            application_status_names=APPLICATION_STATUS_NAMES,
            document_status_names=DOCUMENT_STATUS_NAMES,
            documents=shown,
            errors=errors or {},
            given=given or {},
            reviewable=application["status"] == "submitted",
            visit_form=visit_form or _visit_form(),
        ),
        status,
    )


def _visit_form() -> Any:
    from .appointments import VisitForm

    return VisitForm(formdata=None)


@blueprint.get("/<application_id>", endpoint="application")
@staff_only(IMMIGRATION_OFFICER)
def application_page(application_id: str) -> ResponseReturnValue:
    return _show(_application(application_id))


@blueprint.post("/<application_id>/review", endpoint="review")
@staff_only(IMMIGRATION_OFFICER)
def review(application_id: str) -> ResponseReturnValue:
    application = _application(application_id)
    waiting = [d["document_type"] for d in application.get("documents", []) if d["status"] == "uploaded"]
    decisions: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    given: dict[str, Any] = {}
    for code in waiting:
        decision = request.form.get(f"decision-{code}", "")
        feedback = request.form.get(f"feedback-{code}", "").strip()
        given[code] = {"decision": decision, "feedback": feedback}
        if decision not in ("accepted", "rejected"):
            errors[code] = gettext("Choose whether the document is accepted or rejected")
        elif decision == "rejected" and not feedback:
            errors[code] = gettext("Tell the applicant what is wrong with the document")
        elif len(feedback) > MAX_FEEDBACK:
            errors[code] = gettext("The feedback must be at most 2,000 characters")
        elif decision == "accepted":
            decisions.append({"document_type": code, "decision": "accepted"})
        else:
            decisions.append({"document_type": code, "decision": "rejected", "feedback": feedback})
    if not waiting:
        errors["_page"] = gettext("No document of this application is waiting for a review.")
    if errors:
        return _show(application, errors, given, 400)
    try:
        call_api(
            "POST",
            f"/api/v1/immigration/applications/{quote(application_id, safe='')}/review",
            json={"documents": decisions},
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return _show(application, {"_page": problem.detail}, given, 400)
    flash(gettext("The review is saved; the applicant is told by e-mail."), "success")
    return redirect(url_for("documents.application", application_id=application_id), code=303)
