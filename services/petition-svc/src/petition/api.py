"""The petition HTTP API: parse (marshmallow) -> command -> handler in a unit of work -> schema.

Views hold only HTTP concerns: reading the body and the query, who is signed in, caching
headers. Domain errors propagate to the chassis, which renders them from ``errors.PROBLEMS``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from mai_chassis import Problem, UnitOfWork, current_principal, idempotent, load_json, require_auth
from mai_chassis.auth import Principal
from mai_chassis.challenges import PROOF_OF_WORK_HEADER
from mai_chassis.personal_data import EXPORT_PATH, export_response
from mai_chassis.web import reading_unit_of_work, reject_unstorable_text, unit_of_work
from marshmallow import RAISE, Schema, ValidationError
from werkzeug.datastructures import FileStorage

from . import domain, handlers
from .config import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from .deps import PetitionDeps
from .domain import Closure
from .errors import InstitutionNotFound
from .handlers import CLERK, PHONE_OPERATOR, Sender, UploadedAttachment
from .handlers.accounts import CitizensData, export_citizen_data
from .schemas import (
    AnswerSchema,
    AssignmentSchema,
    ClosureSchema,
    DeadlineExtensionSchema,
    DirectoryQuerySchema,
    FaqEntrySchema,
    ForwardingSchema,
    InstitutionSchema,
    JoinSchema,
    PetitionDetailSchema,
    PetitionIntakeSchema,
    PetitionRegisteredSchema,
    PetitionStatusSchema,
    PetitionSubmissionSchema,
    PetitionTakenInSchema,
    QueuePageSchema,
    QueueQuerySchema,
    RecommendationSchema,
    StatusLookupSchema,
    dump_as_of,
)
from .tables import Petition

__all__ = ["blueprint"]

logger = logging.getLogger(__name__)

blueprint = Blueprint("petitions", __name__)

DIRECTORY_CACHE = "public, max-age=300"

# The public hot paths' schemas, built once: building a schema copies every field, which cost more
# than the load or dump itself. Loading and dumping keep no state on the instance.
_SUBMISSION = PetitionSubmissionSchema()
_INTAKE = PetitionIntakeSchema()
_REGISTERED = PetitionRegisteredSchema()
_STATUS_LOOKUP = StatusLookupSchema()
_STATUS = PetitionStatusSchema()

Command = TypeVar("Command")


def _deps() -> PetitionDeps:
    return current_app.extensions["petition"]  # type: ignore[no-any-return]


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # behind @require_auth
    return principal


# --- public: directory --------------------------------------------------------------------------


def _query(schema: Schema) -> Any:
    return schema.load(request.args.to_dict(), unknown=RAISE)


def _cached(payload: Any) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = DIRECTORY_CACHE
    return response


@blueprint.get("/api/v1/institutions")
def list_institutions() -> Response:
    wanted = _query(DirectoryQuerySchema())["field"]
    items = [
        institution
        for institution in _deps().directory.institutions.values()
        if wanted is None or wanted in institution.fields
    ]
    return _cached({"items": InstitutionSchema(many=True).dump(items)})


@blueprint.get("/api/v1/institutions/<code>")
def show_institution(code: str) -> Response:
    institution = _deps().directory.institution(code.upper())
    if institution is None:
        raise InstitutionNotFound()
    return _cached(InstitutionSchema().dump(institution))


@blueprint.get("/api/v1/faq")
def list_faq() -> Response:
    wanted = _query(DirectoryQuerySchema())["field"]
    items = [entry for entry in _deps().directory.faq if wanted is None or entry["field"] == wanted]
    return _cached({"items": FaqEntrySchema(many=True).dump(items)})


@blueprint.get("/api/v1/recommendations")
def list_recommendations() -> Response:
    wanted = _query(DirectoryQuerySchema())["field"]
    items = [entry for entry in _deps().directory.recommendations if wanted is None or entry["field"] == wanted]
    return _cached({"items": RecommendationSchema(many=True).dump(items)})


# --- public: submit and status ------------------------------------------------------------------


def _read_attachment(upload: FileStorage) -> UploadedAttachment:
    content = upload.stream.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Problem(
            413,
            f"Each attachment may be at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
            kind="attachment-too-large",
            errors={"attachments": ["Too large."]},
        )
    if not content:
        raise ValidationError({"attachments": ["An attachment is empty."]})
    media_type = domain.sniff_attachment_type(content)
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200] or f"attachment.{media_type.split('/')[1]}"
    return UploadedAttachment(content=content, media_type=media_type, display_name=name)


def _read_submission(schema: Schema) -> tuple[dict[str, Any], list[UploadedAttachment]]:
    """JSON without attachments, or multipart/form-data: a ``petition`` JSON part and ``attachments`` files."""
    if request.mimetype != "multipart/form-data":
        return load_json(schema), []
    unknown = (set(request.form) | set(request.files)) - {"petition", "attachments"}
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    part = request.form.get("petition")
    if part is None and "petition" in request.files:
        part = request.files["petition"].stream.read(64 * 1024).decode("utf-8", errors="replace")
    if part is None:
        raise ValidationError({"petition": ["Missing data for required field."]})
    try:
        payload = json.loads(part)
    except ValueError:
        raise Problem(400, "The petition part is not valid JSON.", kind="malformed-json") from None
    if not isinstance(payload, dict):
        raise ValidationError({"petition": ["Must be a JSON object."]})
    reject_unstorable_text(payload)
    submission = schema.load(payload, unknown=RAISE)
    uploads = [upload for upload in request.files.getlist("attachments") if upload.filename or upload.content_length]
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": [f"At most {MAX_ATTACHMENTS} attachments."]})
    try:
        return submission, [_read_attachment(upload) for upload in uploads]
    finally:
        for upload in request.files.values():
            upload.close()  # spooled to temporary files; released now, not at garbage collection


def _sender() -> Sender:
    principal = current_principal(required=False)
    proof_of_work = request.headers.get(PROOF_OF_WORK_HEADER)
    if principal is None:
        return Sender(client_address=request.remote_addr, proof_of_work=proof_of_work)
    return Sender(
        client_address=request.remote_addr,
        account_id=principal.subject,
        account_kind=principal.kind,
        account_email=str(principal.claims.get("email") or "") or None,
        proof_of_work=proof_of_work,
    )


@blueprint.post("/api/v1/petitions")
@idempotent
def submit_petition() -> tuple[Response, int]:
    submission, attachments = _read_submission(_SUBMISSION)
    command = handlers.SubmitPetition(**submission, sender=_sender(), attachments=tuple(attachments), channel="web")
    with unit_of_work() as uow:
        petition = handlers.submit_petition(uow, _deps(), command)
        body = _REGISTERED.dump(petition)
    return jsonify(body), 201


@blueprint.post("/api/v1/petitions/status-lookup")
def look_up_status() -> Response:
    """Public status by number and e-mail; POST keeps the e-mail out of URLs and access logs."""
    query = handlers.StatusLookup(**load_json(_STATUS_LOOKUP))
    with reading_unit_of_work() as uow:
        status = handlers.look_up_status(uow, _deps(), query)
    return jsonify(_STATUS.dump(status))


@blueprint.get("/api/v1/petitions/mine")
@require_auth()
def own_petitions() -> Response:
    """The signed-in citizen's petitions (those sent while signed in), newest first, with their status."""
    principal = _principal()
    if principal.kind != "citizen":
        raise Problem(403, "Only a citizen has petitions of their own.", kind="forbidden")
    with unit_of_work() as uow:
        petitions = handlers.list_citizens_petitions(uow, _deps(), handlers.CitizensPetitions(principal.subject))
        return jsonify({"items": PetitionStatusSchema(many=True).dump(petitions)})


@blueprint.get(EXPORT_PATH)
@require_auth(kind="citizen")
def citizens_data() -> Response:
    """What petition-svc holds about the caller, for identity-svc's download of the citizen's data."""
    with unit_of_work() as uow:
        document = export_citizen_data(uow, _deps(), CitizensData(_principal().subject))
    return export_response(document)


# --- staff --------------------------------------------------------------------------------------


def _as_of(schema: Schema, value: Any, uow: UnitOfWork) -> Any:
    """``value`` dumped as of today (overdue, due soon)."""
    days = _deps().settings.deadline_reminder_working_days
    return dump_as_of(schema, value, uow.clock.today(), reminder_working_days=days)


def _clerks_institution(args: dict[str, Any]) -> None:
    """A clerk of exactly one institution need not name it."""
    if args.get("institution") is None:
        units = _principal().units_for(CLERK) - {"*"}
        if len(units) == 1:
            args["institution"] = units.pop()


@blueprint.post("/api/v1/petitions/intake")
@require_auth(CLERK)
@idempotent
def take_in_petition() -> tuple[Response, int]:
    """A petition received by post, by e-mail or at a counter, registered by a clerk of the institution
    (JSON, or multipart with the scanned pages as ``attachments``, as for the online form)."""
    body, attachments = _read_submission(_INTAKE)
    _clerks_institution(body)
    if body["institution"] is None:
        raise ValidationError({"institution": ["Name the institution: you are a clerk of several."]})
    command = handlers.RegisterReceivedPetition(clerk=_principal(), **body, attachments=tuple(attachments))
    with unit_of_work() as uow:
        petition = handlers.register_received_petition(uow, _deps(), command)
        registered = PetitionTakenInSchema().dump(petition)
    return jsonify(registered), 201


@blueprint.get("/api/v1/petitions/<number>/receipt")
@require_auth(CLERK)
def print_receipt(number: str) -> Response:
    with unit_of_work() as uow:
        receipt = handlers.print_receipt(uow, _deps(), handlers.PetitionReceipt(number, _principal()))
    response = Response(receipt.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{receipt.file_name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/api/v1/petitions/<number>/status")
@require_auth(PHONE_OPERATOR, CLERK)
def staff_status(number: str) -> Response:
    """Status by registration number alone, for the phone line and the clerks of its institution."""
    with unit_of_work() as uow:
        petition = handlers.read_status_for_staff(uow, _deps(), handlers.StaffStatusLookup(number, _principal()))
        return jsonify(PetitionStatusSchema().dump(petition))


@blueprint.get("/api/v1/petitions/<number>")
@require_auth(CLERK)
def show_petition(number: str) -> Response:
    with unit_of_work() as uow:
        petition = handlers.read_petition(uow, _deps(), handlers.ClerksPetition(number, _principal()))
        return jsonify(_as_of(PetitionDetailSchema(), petition, uow))


@blueprint.get("/api/v1/petitions/<number>/attachments/<int:position>")
@require_auth(CLERK)
def download_attachment(number: str, position: int) -> Response:
    with unit_of_work() as uow:
        attachment = handlers.read_attachment(uow, _deps(), handlers.ClerksAttachment(number, position, _principal()))
    response = Response(attachment.content, mimetype=attachment.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{attachment.file_name}"'
    return response


def _queue_arguments() -> dict[str, Any]:
    """The query string; a clerk of exactly one institution need not name it."""
    args: dict[str, Any] = request.args.to_dict()
    _clerks_institution(args)
    return args


def _queue_response(*, overdue_only: bool) -> Response:
    criteria = QueueQuerySchema().load(_queue_arguments(), unknown=RAISE)
    if overdue_only:
        criteria["overdue"] = True
    with unit_of_work() as uow:
        page = handlers.read_queue(uow, _deps(), handlers.ClerksQueue(clerk=_principal(), **criteria))
        return jsonify(_as_of(QueuePageSchema(), page, uow))


@blueprint.get("/api/v1/petitions")
@require_auth(CLERK)
def clerk_queue() -> Response:
    return _queue_response(overdue_only=False)


@blueprint.get("/api/v1/petitions/overdue")
@require_auth(CLERK)
def overdue_petitions() -> Response:
    return _queue_response(overdue_only=True)


def _act(handler: Callable[[UnitOfWork, PetitionDeps, Command], Petition], command: Command) -> Response:
    """Run a clerk action in one unit of work; answer with the petition's new state."""
    with unit_of_work() as uow:
        petition = handler(uow, _deps(), command)
        return jsonify(_as_of(PetitionDetailSchema(), petition, uow))


@blueprint.post("/api/v1/petitions/<number>/assignment")
@require_auth(CLERK)
def assign_petition(number: str) -> Response:
    body = load_json(AssignmentSchema)
    return _act(handlers.assign_petition, handlers.AssignPetition(number, _principal(), assignee=body["assignee"]))


@blueprint.post("/api/v1/petitions/<number>/forwarding")
@require_auth(CLERK)
def forward_petition(number: str) -> Response:
    body = load_json(ForwardingSchema)
    return _act(handlers.forward_petition, handlers.ForwardPetition(number, _principal(), body["to_institution"]))


@blueprint.post("/api/v1/petitions/<number>/answer")
@require_auth(CLERK)
def answer_petition(number: str) -> Response:
    body = load_json(AnswerSchema)
    return _act(handlers.answer_petition, handlers.AnswerPetition(number, _principal(), body["text"]))


@blueprint.post("/api/v1/petitions/<number>/joined-petitions")
@require_auth(CLERK)
def join_petitions(number: str) -> Response:
    body = load_json(JoinSchema)
    command = handlers.JoinPetitions(number, _principal(), tuple(body["registration_numbers"]))
    return _act(handlers.join_petitions, command)


@blueprint.post("/api/v1/petitions/<number>/closure")
@require_auth(CLERK)
def close_petition(number: str) -> Response:
    body = load_json(ClosureSchema)
    outcome = Closure(body["outcome"])
    if outcome is Closure.REPEAT and not body["repeat_of"]:
        raise ValidationError({"repeat_of": ["Required when the outcome is repeat."]})
    command = handlers.ClosePetition(number, _principal(), outcome, repeat_of=body["repeat_of"])
    return _act(handlers.close_petition, command)


@blueprint.post("/api/v1/petitions/<number>/deadline-extension")
@require_auth(CLERK)
def extend_deadline(number: str) -> Response:
    body = load_json(DeadlineExtensionSchema)
    command = handlers.ExtendDeadline(number, _principal(), days=body["days"], reason=body["reason"])
    return _act(handlers.extend_deadline, command)


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    from .openapi import openapi_spec

    return _cached(openapi_spec())
