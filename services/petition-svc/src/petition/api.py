"""The petition HTTP API: parse (marshmallow) -> handler (one unit of work) -> serialise."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from mai_chassis import Database, Problem, UnitOfWork, current_principal, idempotent, load_json, require_auth
from mai_chassis.auth import Principal
from mai_chassis.challenges import (
    PROOF_OF_WORK_HEADER,
    ChallengeVerifier,
    challenge_required,
    client_key,
    spend_once,
)
from mai_chassis.web import reject_unstorable_text
from marshmallow import RAISE, Schema, ValidationError
from prometheus_client import Counter
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from . import domain, handlers, quotas
from .attachments import AttachmentStore
from .config import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, Settings
from .directory import Directory
from .domain import AttachmentRefused, Closure, PetitionRuleBroken, Status
from .handlers import NewPetition, PetitionNotFound, QueueFilter, UploadedAttachment
from .metrics import SUBMISSIONS_REFUSED
from .quotas import AttachmentQuotas, StorageUse
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
    PetitionRegisteredSchema,
    PetitionStatusSchema,
    PetitionSubmissionSchema,
    QueuePageSchema,
    QueueQuerySchema,
    RecommendationSchema,
    StatusLookupSchema,
)
from .tables import Petition, SpentChallenge

__all__ = ["PetitionContext", "blueprint"]

logger = logging.getLogger(__name__)

blueprint = Blueprint("petitions", __name__)

CLERK = "petition_clerk"
PHONE_OPERATOR = "phone_operator"
DIRECTORY_CACHE = "public, max-age=300"

PETITIONS_REGISTERED = Counter(
    "petitions_registered_total", "Petitions registered.", ["service", "institution", "kind", "channel"]
)


@dataclass(frozen=True)
class PetitionContext:
    settings: Settings
    database: Database
    directory: Directory
    store: AttachmentStore
    quotas: AttachmentQuotas = field(default_factory=AttachmentQuotas)
    storage: StorageUse | None = None
    #: Asked of anonymous clients past ``settings.submission_challenge_after`` (None: never).
    challenge: ChallengeVerifier | None = None


def _context() -> PetitionContext:
    return current_app.extensions["petition"]  # type: ignore[no-any-return]


@contextmanager
def _unit_of_work() -> Iterator[UnitOfWork]:
    context = _context()
    with context.database.unit_of_work(source=context.settings.service_name, traceparent=g.traceparent) as uow:
        yield uow


# --- errors of this service ---------------------------------------------------------------------


@blueprint.app_errorhandler(PetitionNotFound)
def _not_found(_exc: PetitionNotFound) -> Response:
    from mai_chassis.problems import problem_response

    return problem_response(Problem(404, "No petition with this registration number.", kind="petition-not-found"))


@blueprint.app_errorhandler(PetitionRuleBroken)
def _rule_broken(exc: PetitionRuleBroken) -> Response:
    from mai_chassis.problems import problem_response

    return problem_response(Problem(exc.status, str(exc), kind=exc.kind))


# --- views --------------------------------------------------------------------------------------


def _institution_ref(code: str | None) -> dict[str, Any] | None:
    if code is None:
        return None
    institution = _context().directory.institution(code)
    return {"code": code, "name": institution.name if institution else {"ro": code, "en": code}}


def _status_view(petition: Petition) -> dict[str, Any]:
    answered = petition.joined_to if petition.joined_to is not None else petition
    return {
        "registration_number": petition.registration_number,
        "kind": petition.kind,
        "status": petition.status,
        "outcome": petition.closure,
        "institution": _institution_ref(petition.institution),
        "field": petition.field,
        "registered_at": domain.as_utc(petition.registered_at),
        "answer_due_on": petition.answer_due_on,
        "deadline_extended": petition.deadline_extended,
        "forwarded_from": _institution_ref(petition.forwarded_from),
        "forwarded_at": petition.forwarded_at and domain.as_utc(petition.forwarded_at),
        "answered_at": answered.answered_at and domain.as_utc(answered.answered_at),
        "answer": answered.answer,
        "closed_at": petition.closed_at and domain.as_utc(petition.closed_at),
        "joined_to": petition.joined_to.registration_number if petition.joined_to else None,
        "repeat_of": petition.repeat_of.registration_number if petition.repeat_of else None,
    }


def _detail_view(petition: Petition) -> dict[str, Any]:
    today = domain.local_date(domain.now())
    return {
        **_status_view(petition),
        "subject": petition.subject,
        "text": petition.text,
        "channel": petition.channel,
        "petitioner": {
            "name": petition.petitioner_name,
            "email": petition.petitioner_email,
            "phone": petition.petitioner_phone,
            "address": petition.petitioner_address,
        },
        "attachments": [
            {
                "position": item.position,
                "media_type": item.media_type,
                "size": item.size,
                "name": item.display_name,
                "sha256": item.sha256,
            }
            for item in petition.attachments
        ],
        "assignee": petition.assignee,
        "forward_due_on": petition.forward_due_on,
        "extension_reason": petition.extension_reason,
        "forwarded_late": petition.forwarded_late,
        "overdue": domain.is_overdue(
            Status(petition.status), petition.answer_due_on, today, forwarded_late=petition.forwarded_late
        ),
    }


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
    directory = _context().directory
    items = [
        institution.as_dict(directory.fields)
        for institution in directory.institutions.values()
        if wanted is None or wanted in institution.fields
    ]
    return _cached({"items": InstitutionSchema(many=True).dump(items)})


@blueprint.get("/api/v1/institutions/<code>")
def show_institution(code: str) -> Response:
    directory = _context().directory
    institution = directory.institution(code.upper())
    if institution is None:
        raise Problem(404, "No institution with this code.", kind="institution-not-found")
    return _cached(InstitutionSchema().dump(institution.as_dict(directory.fields)))


@blueprint.get("/api/v1/faq")
def list_faq() -> Response:
    wanted = _query(DirectoryQuerySchema())["field"]
    items = [entry for entry in _context().directory.faq if wanted is None or entry["field"] == wanted]
    return _cached({"items": FaqEntrySchema(many=True).dump(items)})


@blueprint.get("/api/v1/recommendations")
def list_recommendations() -> Response:
    wanted = _query(DirectoryQuerySchema())["field"]
    items = [entry for entry in _context().directory.recommendations if wanted is None or entry["field"] == wanted]
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
    try:
        media_type = domain.sniff_attachment_type(content)
    except AttachmentRefused as exc:
        raise Problem(
            exc.status, str(exc), kind="unsupported-attachment-type", errors={"attachments": [str(exc)]}
        ) from None
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200] or f"attachment.{media_type.split('/')[1]}"
    return UploadedAttachment(content=content, media_type=media_type, display_name=name)


def _read_submission() -> tuple[dict[str, Any], list[UploadedAttachment]]:
    """JSON without attachments, or multipart/form-data: a ``petition`` JSON part and ``attachments`` files."""
    if request.mimetype != "multipart/form-data":
        return load_json(PetitionSubmissionSchema), []
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
    submission = PetitionSubmissionSchema().load(payload, unknown=RAISE)
    uploads = [upload for upload in request.files.getlist("attachments") if upload.filename or upload.content_length]
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": [f"At most {MAX_ATTACHMENTS} attachments."]})
    try:
        return submission, [_read_attachment(upload) for upload in uploads]
    finally:
        for upload in request.files.values():
            upload.close()  # spooled to temporary files; released now, not at garbage collection


@blueprint.post("/api/v1/petitions")
@idempotent
def submit_petition() -> tuple[Response, int]:
    principal = current_principal(required=False)
    submission, attachments = _read_submission()
    context = _context()
    with _unit_of_work() as uow:
        if attachments:
            _admit_attachments(uow.session, context, principal, submission["email"], attachments)
        petition = handlers.register_petition(
            uow,
            NewPetition(**submission),
            directory=context.directory,
            store=context.store,
            attachments=attachments,
            channel="web",
            citizen_id=principal.subject if principal is not None and principal.kind == "citizen" else None,
        )
        uow.commit()
        if attachments and context.storage is not None:
            context.storage.add(sum(len(item.content) for item in attachments))
        body = PetitionRegisteredSchema().dump(
            {
                "registration_number": petition.registration_number,
                "status": petition.status,
                "kind": petition.kind,
                "institution": _institution_ref(petition.institution),
                "registered_at": petition.registered_at,
                "answer_due_on": petition.answer_due_on,
                "attachment_count": len(attachments),
                "repeat_of": petition.repeat_of.registration_number if petition.repeat_of else None,
            }
        )
    PETITIONS_REGISTERED.labels(context.settings.service_name, petition.institution, petition.kind, "web").inc()
    logger.info("petition registered: %s", body["registration_number"])
    return jsonify(body), 201


def _refuse(reason: str, problem: Problem) -> Problem:
    SUBMISSIONS_REFUSED.labels(_context().settings.service_name, reason).inc()
    return problem


def _admit_attachments(
    session: Session,
    context: PetitionContext,
    principal: Principal | None,
    email: str,
    attachments: list[UploadedAttachment],
) -> None:
    """Count a petition with attachments against its client's and its recipient address's quotas,
    ask an anonymous client past the threshold for a solved challenge (when one is configured), and
    keep the attachment store within its budget. Refusals roll the counts back with the request's
    transaction; nothing is stored."""
    limits, now = context.quotas, domain.now()
    size = sum(len(item.content) for item in attachments)
    subject = principal.subject if principal is not None else None
    client = quotas.count_submission(session, client_key(subject, request.remote_addr), size, now, limits.window)
    if client.petitions > limits.petitions_per_client or client.attachment_bytes > limits.bytes_per_client:
        raise _refuse("client-quota", _quota_problem("client", client, now, limits))
    own_address = principal is not None and str(principal.claims.get("email", "")).lower() == email.strip().lower()
    if not own_address:  # a signed-in citizen writing from their own address is limited as a client only
        recipient = quotas.count_submission(session, quotas.recipient_key(email), size, now, limits.window)
        if (
            recipient.petitions > limits.petitions_per_recipient
            or recipient.attachment_bytes > limits.bytes_per_recipient
        ):
            raise _refuse("recipient-quota", _quota_problem("recipient", recipient, now, limits))
    if (
        context.challenge is not None
        and principal is None
        and client.petitions > context.settings.submission_challenge_after
        and not spend_once(
            session, SpentChallenge, context.challenge.check(request.headers.get(PROOF_OF_WORK_HEADER)), now
        )
    ):
        raise _refuse(
            "challenge-required",
            challenge_required(
                context.challenge,
                "Many petitions with attachments came from your connection today. Solve the challenge and send "
                "the petition again, or send it without attachments.",
            ),
        )
    if context.storage is not None and context.storage.bytes_stored(session) + size > limits.storage_budget_bytes:
        logger.error("attachment store budget reached: attachments refused until room is made")
        raise _refuse(
            "storage-full",
            Problem(
                503,
                "Attachments cannot be accepted at the moment. Send the petition without them, or try again later.",
                kind="attachment-storage-full",
                headers={"Retry-After": "3600"},
            ),
        )


def _quota_problem(scope: str, usage: quotas.Usage, now: datetime, limits: AttachmentQuotas) -> Problem:
    retry_after = quotas.seconds_until(domain.as_utc(usage.window_started_at) + limits.window, now)
    whose = "from your connection" if scope == "client" else "to this e-mail address"
    return Problem(
        429,
        f"Too many petitions with attachments were sent {whose} today. Send the petition without attachments, "
        "or try again later.",
        kind="submission-quota-exceeded",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
        quota=scope,
    )


@blueprint.post("/api/v1/petitions/status-lookup")
def look_up_status() -> Response:
    """Public status by number and e-mail; POST keeps the e-mail out of URLs and access logs."""
    query = load_json(StatusLookupSchema)
    with _context().database.session() as session:
        petition = handlers.find_for_petitioner(session, query["registration_number"], query["email"])
        return jsonify(PetitionStatusSchema().dump(_status_view(petition)))


@blueprint.get("/api/v1/petitions/mine")
@require_auth()
def own_petitions() -> Response:
    """The signed-in citizen's petitions (those sent while signed in), newest first, with their status."""
    principal = current_principal()
    assert principal is not None
    if principal.kind != "citizen":
        raise Problem(403, "Only a citizen has petitions of their own.", kind="forbidden")
    with _context().database.session() as session:
        rows = handlers.petitions_of_citizen(session, principal.subject)
        return jsonify({"items": PetitionStatusSchema(many=True).dump([_status_view(row) for row in rows])})


# --- staff --------------------------------------------------------------------------------------


def _require_clerk_of(institution: str) -> str:
    principal = current_principal()
    assert principal is not None
    if not principal.has_role(CLERK, institution):
        raise Problem(403, "You are not a petition clerk of this institution.", kind="forbidden")
    return principal.subject


@blueprint.get("/api/v1/petitions/<number>/status")
@require_auth(PHONE_OPERATOR, CLERK)
def staff_status(number: str) -> Response:
    """Status by registration number alone, for the phone line (TELVERDE) and clerks of the
    petition's institution (a national line's operators hold the role in every unit)."""
    principal = current_principal()
    assert principal is not None
    with _context().database.session() as session:
        petition = handlers.find_by_number(session, number)
        if not (
            principal.has_role(PHONE_OPERATOR, petition.institution) or principal.has_role(CLERK, petition.institution)
        ):
            raise Problem(403, "You answer for another institution's petitions.", kind="forbidden")
        return jsonify(PetitionStatusSchema().dump(_status_view(petition)))


@blueprint.get("/api/v1/petitions/<number>")
@require_auth(CLERK)
def show_petition(number: str) -> Response:
    with _context().database.session() as session:
        petition = handlers.find_by_number(session, number)
        _require_clerk_of(petition.institution)
        return jsonify(PetitionDetailSchema().dump(_detail_view(petition)))


@blueprint.get("/api/v1/petitions/<number>/attachments/<int:position>")
@require_auth(CLERK)
def download_attachment(number: str, position: int) -> Response:
    with _context().database.session() as session:
        petition = handlers.find_by_number(session, number)
        _require_clerk_of(petition.institution)
        item = next((a for a in petition.attachments if a.position == position), None)
        if item is None:
            raise Problem(404, "No such attachment.", kind="attachment-not-found")
        content = _context().store.read(item.sha256)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[item.media_type]
    response = Response(content, mimetype=item.media_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{petition.registration_number}-{position}.{extension}"'
    )
    return response


def _default_institution() -> dict[str, str]:
    """A clerk of exactly one institution need not name it."""
    args = request.args.to_dict()
    if "institution" not in args:
        principal = current_principal()
        assert principal is not None
        units = principal.units_for(CLERK) - {"*"}
        if len(units) == 1:
            args["institution"] = units.pop()
    return args


def _queue_response(overdue_only: bool) -> Response:
    criteria = QueueQuerySchema().load(_default_institution(), unknown=RAISE)
    _require_clerk_of(criteria["institution"])
    page, page_size = criteria.pop("page"), criteria.pop("page_size")
    if overdue_only:
        criteria["overdue"] = True
    with _context().database.session() as session:
        rows, total = handlers.queue(session, QueueFilter(**criteria), page=page, page_size=page_size)
        items = [_detail_view(row) for row in rows]
    return jsonify(QueuePageSchema().dump({"items": items, "page": page, "page_size": page_size, "total": total}))


@blueprint.get("/api/v1/petitions")
@require_auth(CLERK)
def clerk_queue() -> Response:
    return _queue_response(overdue_only=False)


@blueprint.get("/api/v1/petitions/overdue")
@require_auth(CLERK)
def overdue_petitions() -> Response:
    return _queue_response(overdue_only=True)


def _act(number: str, action: Any) -> Response:
    """Run a clerk action on a locked petition in one unit of work; answer with its new state."""
    with _unit_of_work() as uow:
        petition = handlers.find_by_number(uow.session, number, for_update=True)
        clerk = _require_clerk_of(petition.institution)
        action(uow, petition, clerk)
        uow.commit()
        return jsonify(PetitionDetailSchema().dump(_detail_view(petition)))


@blueprint.post("/api/v1/petitions/<number>/assignment")
@require_auth(CLERK)
def assign_petition(number: str) -> Response:
    body = load_json(AssignmentSchema)
    return _act(number, lambda uow, petition, clerk: handlers.assign(uow, petition, assignee=body["assignee"] or clerk))


@blueprint.post("/api/v1/petitions/<number>/forwarding")
@require_auth(CLERK)
def forward_petition(number: str) -> Response:
    body = load_json(ForwardingSchema)
    return _act(
        number,
        lambda uow, petition, _clerk: handlers.forward(
            uow, petition, to_institution=body["to_institution"], directory=_context().directory
        ),
    )


@blueprint.post("/api/v1/petitions/<number>/answer")
@require_auth(CLERK)
def answer_petition(number: str) -> Response:
    body = load_json(AnswerSchema)
    return _act(
        number, lambda uow, petition, clerk: handlers.answer(uow, petition, text=body["text"], answered_by=clerk)
    )


@blueprint.post("/api/v1/petitions/<number>/joined-petitions")
@require_auth(CLERK)
def join_petitions(number: str) -> Response:
    body = load_json(JoinSchema)

    def action(uow: UnitOfWork, petition: Petition, _clerk: str) -> None:
        wanted = sorted({n.strip().upper() for n in body["registration_numbers"]})
        others = [handlers.find_by_number(uow.session, other, for_update=True) for other in wanted]
        handlers.join(uow, petition, others)

    return _act(number, action)


@blueprint.post("/api/v1/petitions/<number>/closure")
@require_auth(CLERK)
def close_petition(number: str) -> Response:
    body = load_json(ClosureSchema)
    closure = Closure(body["outcome"])
    if closure is Closure.REPEAT and not body["repeat_of"]:
        raise ValidationError({"repeat_of": ["Required when the outcome is repeat."]})

    def action(uow: UnitOfWork, petition: Petition, _clerk: str) -> None:
        original = handlers.find_by_number(uow.session, body["repeat_of"]) if body["repeat_of"] else None
        if original is not None:
            _require_clerk_of(original.institution)  # another institution's petitions are not the clerk's to read
        handlers.close(uow, petition, closure=closure, repeat_of=original)

    return _act(number, action)


@blueprint.post("/api/v1/petitions/<number>/deadline-extension")
@require_auth(CLERK)
def extend_deadline(number: str) -> Response:
    body = load_json(DeadlineExtensionSchema)
    return _act(
        number,
        lambda uow, petition, _clerk: handlers.extend_deadline(uow, petition, days=body["days"], reason=body["reason"]),
    )


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    from .openapi import openapi_spec

    return _cached(openapi_spec())
