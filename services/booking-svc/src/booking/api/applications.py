"""The applicant's API: application types, drafts, scanned documents, submission, proposed slots."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from mai_chassis import Problem, current_principal, idempotent, load_json, require_auth
from mai_chassis.web import unit_of_work

from .. import handlers
from ..config import MAX_DOCUMENT_BYTES
from ..handlers import DocumentEntry
from ..handlers.allowances import SLOT_SEARCH
from ..schemas import (
    ApplicationDraftRequest,
    ApplicationResponse,
    ApplicationSummaryResponse,
    ApplicationTypeResponse,
    DocumentResponse,
    SlotResponse,
    TimelineResponse,
)
from .blueprints import immigration
from .context import citizen, deps, officer, rate_limited


@immigration.get("/application-types")
def list_application_types() -> Response:
    types = deps().catalog.application_types.values()
    return jsonify(items=ApplicationTypeResponse(many=True).dump(types))


@immigration.post("/applications")
@require_auth(kind="citizen")
@idempotent
def create_application() -> tuple[Response, int, dict[str, str]]:
    body = load_json(ApplicationDraftRequest)
    principal = current_principal()
    assert principal is not None
    command = handlers.CreateDraft(
        citizen_id=principal.subject,
        application_type=body["application_type"],
        office=body["office"],
        claims=principal.claims,
        language=body.get("language"),
    )
    with unit_of_work() as uow:
        details = handlers.create_draft(uow, deps(), command)
        answer = ApplicationResponse().dump(details)
    location = url_for("immigration.show_application", application_id=answer["application_id"])
    return jsonify(answer), 201, {"Location": location}


@immigration.get("/applications")
@require_auth(kind="citizen")
def list_applications() -> Response:
    with unit_of_work() as uow:
        applications = handlers.list_applications(uow, deps(), handlers.ListApplications(citizen()))
        answer = ApplicationSummaryResponse(many=True).dump(applications)
    return jsonify(items=answer)


def _as_caller(application_id: str) -> handlers.ShowApplication:
    principal = current_principal()
    assert principal is not None
    if principal.is_staff:
        return handlers.ShowApplication(application_id, officer=officer())
    return handlers.ShowApplication(application_id, citizen_id=principal.subject)


@immigration.get("/applications/<application_id>")
@require_auth()
def show_application(application_id: str) -> Response:
    with unit_of_work() as uow:
        details = handlers.show_application(uow, deps(), _as_caller(application_id))
        answer = ApplicationResponse().dump(details)
    return jsonify(answer)


@immigration.get("/applications/<application_id>/timeline")
@require_auth(kind="citizen")
def show_timeline(application_id: str) -> Response:
    with unit_of_work() as uow:
        timeline = handlers.show_timeline(uow, deps(), handlers.ShowTimeline(application_id, citizen()))
        answer = TimelineResponse().dump(timeline)
    return jsonify(answer)


@immigration.put("/applications/<application_id>/documents/<document_type>")
@require_auth(kind="citizen")
def upload_document(application_id: str, document_type: str) -> tuple[Response, int]:
    upload = request.files.get("file")
    if upload is None or set(request.files) != {"file"} or request.form:
        for part in request.files.values():
            part.close()
        raise Problem(400, "Send one multipart/form-data part named 'file' and nothing else.", kind="malformed-upload")
    try:
        content = upload.stream.read(MAX_DOCUMENT_BYTES + 1)
    finally:
        for part in request.files.values():
            part.close()  # the parser's temporary file, now rather than at garbage collection
    command = handlers.UploadDocument(
        application_id=application_id,
        citizen_id=citizen(),
        document_type=document_type,
        content=content,
        file_name=upload.filename,
    )
    with unit_of_work() as uow:
        document = handlers.upload_document(uow, deps(), command)
        answer = DocumentResponse().dump(DocumentEntry(document_type, document))
    return jsonify(answer), 200


@immigration.get("/applications/<application_id>/documents/<document_type>/content")
@require_auth()
def download_document(application_id: str, document_type: str) -> Response:
    caller = _as_caller(application_id)
    query = handlers.FetchDocument(application_id, document_type, citizen_id=caller.citizen_id, officer=caller.officer)
    with unit_of_work() as uow:
        document = handlers.fetch_document(uow, deps(), query)
    return Response(
        document.content,
        mimetype=document.media_type,
        headers={"Content-Disposition": "attachment; filename=document", "Cache-Control": "private, no-store"},
    )


@immigration.post("/applications/<application_id>/submit")
@require_auth(kind="citizen")
def submit_application(application_id: str) -> Response:
    with unit_of_work() as uow:
        details = handlers.submit_application(uow, deps(), handlers.SubmitApplication(application_id, citizen()))
        answer = ApplicationResponse().dump(details)
    return jsonify(answer)


@immigration.get("/applications/<application_id>/proposed-slots")
@require_auth(kind="citizen")
@rate_limited(SLOT_SEARCH)
def proposed_slots(application_id: str) -> Response:
    with unit_of_work() as uow:
        slots = handlers.propose_slots(uow, deps(), handlers.ProposeSlots(application_id, citizen()))
        answer = SlotResponse(many=True).dump(slots)
    return jsonify(items=answer)
