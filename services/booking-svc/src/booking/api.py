"""HTTP API of booking-svc: parse (marshmallow) -> handler -> serialise."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, url_for
from mai_chassis import Database, Problem, current_principal, idempotent, load_json, require_auth
from marshmallow import RAISE
from prometheus_client import Counter

from . import domain, handlers
from .catalog import Catalog
from .config import Settings
from .documents import DocumentStore
from .domain import BookingRuleError
from .handlers import (
    AppointmentLinks,
    DocumentRefusedError,
    NotFoundError,
    Officer,
    RecipientUnknownError,
    SlotTakenError,
    aware,
    local_iso,
)
from .links import InvalidLinkError
from .schemas import (
    ApplicationDraftRequest,
    BookingRequest,
    DayQuery,
    QueueQuery,
    RescheduleRequest,
    ReviewRequest,
    SlotSearchQuery,
    VisitRequest,
)
from .tables import Application, ApplicationDocument, Appointment

logger = logging.getLogger(__name__)

BOOKING_OUTCOMES = Counter(
    "booking_attempt_outcomes_total",
    "Booking and rescheduling attempts by outcome (booked, slot_taken, refused, rate_limited).",
    ["service", "outcome"],
)

OFFICER_ROLE = "immigration_officer"

immigration = Blueprint("immigration", __name__, url_prefix="/api/v1/immigration")
appointments = Blueprint("appointments", __name__, url_prefix="/api/v1/appointments")
offices = Blueprint("offices", __name__, url_prefix="/api/v1/offices")


@dataclass(frozen=True)
class BookingContext:
    settings: Settings
    database: Database
    catalog: Catalog
    store: DocumentStore
    links: AppointmentLinks
    clock: Callable[[], datetime]


def _ctx() -> BookingContext:
    return current_app.extensions["booking"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return _ctx().clock()


def _uow() -> Any:
    ctx = _ctx()
    return ctx.database.unit_of_work(source=ctx.settings.service_name, traceparent=g.traceparent)


def _citizen() -> str:
    principal = current_principal()
    assert principal is not None
    return principal.subject


def _officer() -> Officer:
    principal = current_principal()
    assert principal is not None
    return Officer(principal.subject, frozenset(principal.units_for(OFFICER_ROLE)))


_F = TypeVar("_F", bound=Callable[..., Any])


def rate_limited(action: str) -> Callable[[_F], _F]:
    """Per-citizen fixed-window limit kept in the database (shared by every web process)."""

    def decorator(view: _F) -> _F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            take_allowance(action, _citizen())
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def take_allowance(action: str, subject: str) -> None:
    """Count one ``action`` of ``subject`` (a citizen id); 429 once the window's allowance is spent."""
    ctx = _ctx()
    if action == "slot-search":
        limit, window = ctx.settings.slot_searches_per_minute, timedelta(minutes=1)
    else:
        limit, window = ctx.settings.bookings_per_hour, timedelta(hours=1)
    with ctx.database.session() as session:
        retry_after = handlers.take_allowance(
            session, subject=subject, action=action, limit=limit, window=window, now=_now()
        )
    if retry_after is not None:
        if action == "booking":
            BOOKING_OUTCOMES.labels(ctx.settings.service_name, "rate_limited").inc()
        raise Problem(
            429,
            f"Too many {action.replace('-', ' ')} requests; try again in {retry_after} s.",
            kind="rate-limited",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


def register_error_mapping(app: Flask) -> None:
    @app.errorhandler(NotFoundError)
    def _not_found(_exc: NotFoundError) -> Response:
        from mai_chassis.problems import problem_response

        return problem_response(Problem(404, "No such resource of yours.", kind="not-found"))

    @app.errorhandler(BookingRuleError)
    def _rule(exc: BookingRuleError) -> Response:
        from mai_chassis.problems import problem_response

        status = (
            422
            if exc.kind
            in (
                "unknown-application-type",
                "unknown-office",
                "unknown-document-type",
                "slot-at-another-office",
                "duplicate-decision",
                "feedback-required",
                "pickup-before-visit",
                "biometrics-in-the-future",
            )
            else 409
        )
        return problem_response(Problem(status, exc.detail, kind=exc.kind))

    @app.errorhandler(SlotTakenError)
    def _taken(_exc: SlotTakenError) -> Response:
        from mai_chassis.problems import problem_response

        BOOKING_OUTCOMES.labels(_ctx().settings.service_name, "slot_taken").inc()
        return problem_response(
            Problem(409, "This slot has just been booked by someone else; pick another.", kind="slot-taken")
        )

    @app.errorhandler(DocumentRefusedError)
    def _refused(exc: DocumentRefusedError) -> Response:
        from mai_chassis.problems import problem_response

        kind = "document-too-large" if exc.status == 413 else "unsupported-document-type"
        return problem_response(Problem(exc.status, exc.detail, kind=kind))


# --- serialisers ------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


def slot_json(slot: Any) -> dict[str, Any]:
    return {
        "slot_id": slot.id,
        "office": slot.office,
        "counter": slot.counter,
        "starts_at": local_iso(slot.starts_at),
        "ends_at": local_iso(slot.ends_at),
    }


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "application_id": appointment.application_id,
        "office": appointment.office,
        "counter": appointment.counter,
        "starts_at": local_iso(appointment.starts_at),
        "ends_at": local_iso(appointment.ends_at),
        "status": appointment.status,
        "rescheduled_from": appointment.rescheduled_from,
    }


def _document_json(code: str, document: ApplicationDocument | None) -> dict[str, Any]:
    if document is None:
        return {"document_type": code, "status": "missing"}
    return {
        "document_type": code,
        "status": document.status,
        "media_type": document.media_type,
        "size_bytes": document.size_bytes,
        "file_name": document.file_name,
        "sha256": document.sha256,
        "feedback": document.feedback,
        "uploaded_at": _iso(document.uploaded_at),
    }


def application_json(session: Any, application: Application, *, full: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "application_id": application.id,
        "application_type": application.application_type,
        "office": application.office,
        "status": application.status,
        "submission_number": application.submission_number,
        "created_at": _iso(application.created_at),
        "submitted_at": _iso(application.submitted_at),
        "pickup_from": application.pickup_from.isoformat() if application.pickup_from else None,
    }
    if full:
        stored = {d.document_type: d for d in handlers.documents_of(session, application.id)}
        required = _ctx().catalog.application_types[application.application_type].required_codes
        body["documents"] = [_document_json(code, stored.get(code)) for code in required]
        appointment = handlers.active_appointment(session, application.id)
        body["appointment"] = appointment_json(appointment) if appointment else None
        body["timeline"] = [
            {"status": e.status, "at": _iso(e.occurred_at), "note": e.note}
            for e in handlers.timeline(session, application.id)
        ]
    return body


def _created(body: dict[str, Any], location: str) -> tuple[Response, int, dict[str, str]]:
    return jsonify(body), 201, {"Location": location}


# --- reference data --------------------------------------------------------------------------------


@immigration.get("/application-types")
def list_application_types() -> Response:
    catalog = _ctx().catalog
    return jsonify(
        items=[
            {
                "code": t.code,
                "name": dict(t.name),
                "required_documents": [{"code": d.code, "name": dict(d.name)} for d in t.required_documents],
            }
            for t in catalog.application_types.values()
        ]
    )


def _office_json(office: domain.Office) -> dict[str, Any]:
    return {
        "code": office.code,
        "name": office.name,
        "county": office.county,
        "city": office.city,
        "counters": list(office.counters),
        "opening_hours": {
            day: [f"{i.opens:%H:%M}-{i.closes:%H:%M}" for i in intervals]
            for day, intervals in office.opening_hours.items()
        },
        "closed_days": sorted(d.isoformat() for d in office.closed_days),
    }


@offices.get("")
def list_offices() -> Response:
    return jsonify(items=[_office_json(o) for o in _ctx().catalog.offices.values()])


@offices.get("/<code>")
def show_office(code: str) -> Response:
    office = _ctx().catalog.offices.get(code)
    if office is None:
        raise NotFoundError
    return jsonify(_office_json(office))


@offices.get("/<code>/slots")
@require_auth(kind="citizen")
@rate_limited("slot-search")
def search_slots(code: str) -> Response:
    if code not in _ctx().catalog.offices:
        raise NotFoundError
    query = SlotSearchQuery().load(request.args.to_dict(), unknown=RAISE)
    tz = domain.OFFICE_TIME_ZONE
    start = max(datetime.combine(query["date_from"], time.min, tz), _now())
    end = datetime.combine(query["date_to"] + timedelta(days=1), time.min, tz)
    with _ctx().database.session() as session:
        slots = handlers.free_slots(session, code, start, end, query["limit"])
        return jsonify(items=[slot_json(s) for s in slots])


@offices.get("/<code>/appointments")
@require_auth(OFFICER_ROLE)
def office_day_schedule(code: str) -> Response:
    """Officers: the day's appointments at the counters of their office."""
    if code not in _ctx().catalog.offices or not _officer().covers(code):
        raise NotFoundError
    query = DayQuery().load(request.args.to_dict(), unknown=RAISE)
    tz = domain.OFFICE_TIME_ZONE
    start = datetime.combine(query["day"], time.min, tz)
    with _ctx().database.session() as session:
        rows = handlers.office_appointments(session, code, start, start + timedelta(days=1))
        return jsonify(items=[appointment_json(a) for a in rows])


# --- applications (applicant) ----------------------------------------------------------------------


@immigration.post("/applications")
@require_auth(kind="citizen")
@idempotent
def create_application() -> tuple[Response, int, dict[str, str]]:
    body = load_json(ApplicationDraftRequest)
    principal = current_principal()
    assert principal is not None
    with _uow() as uow:
        try:
            recipient = handlers.resolve_recipient(
                uow.session, principal.subject, principal.claims, body.get("language")
            )
        except RecipientUnknownError:
            raise Problem(
                409,
                "Your account has no confirmed e-mail address and name yet; verify your identity first.",
                kind="identity-not-verified",
            ) from None
        application = handlers.create_draft(
            uow,
            _ctx().catalog,
            citizen_id=principal.subject,
            application_type=body["application_type"],
            office=body["office"],
            recipient=recipient,
            now=_now(),
        )
        payload = application_json(uow.session, application)
    return _created(payload, url_for("immigration.show_application", application_id=application.id))


@immigration.get("/applications")
@require_auth(kind="citizen")
def list_applications() -> Response:
    from sqlalchemy import select

    with _ctx().database.session() as session:
        rows = session.scalars(
            select(Application).where(Application.citizen_id == _citizen()).order_by(Application.created_at.desc())
        )
        return jsonify(items=[application_json(session, a, full=False) for a in rows])


@immigration.get("/applications/<application_id>")
@require_auth()
def show_application(application_id: str) -> Response:
    principal = current_principal()
    assert principal is not None
    with _ctx().database.session() as session:
        if principal.is_staff:
            application = handlers.officer_application(session, application_id, _officer())
        else:
            application = handlers.own_application(session, application_id, principal.subject)
        return jsonify(application_json(session, application))


@immigration.get("/applications/<application_id>/timeline")
@require_auth(kind="citizen")
def show_timeline(application_id: str) -> Response:
    with _ctx().database.session() as session:
        application = handlers.own_application(session, application_id, _citizen())
        return jsonify(
            application_id=application.id,
            status=application.status,
            items=[
                {"status": e.status, "at": _iso(e.occurred_at), "note": e.note}
                for e in handlers.timeline(session, application.id)
            ],
        )


@immigration.put("/applications/<application_id>/documents/<document_type>")
@require_auth(kind="citizen")
def upload_document(application_id: str, document_type: str) -> tuple[Response, int]:
    upload = request.files.get("file")
    if upload is None or set(request.files) != {"file"} or request.form:
        for part in request.files.values():
            part.close()
        raise Problem(400, "Send one multipart/form-data part named 'file' and nothing else.", kind="malformed-upload")
    from .config import MAX_DOCUMENT_BYTES

    try:
        content = upload.stream.read(MAX_DOCUMENT_BYTES + 1)
    finally:
        for part in request.files.values():
            part.close()  # the parser's temporary file, now rather than at garbage collection
    with _uow() as uow:
        document = handlers.upload_document(
            uow,
            _ctx().catalog,
            _ctx().store,
            application_id=application_id,
            citizen_id=_citizen(),
            document_type=document_type,
            content=content,
            file_name=upload.filename,
            now=_now(),
        )
    return jsonify(_document_json(document_type, document)), 200


@immigration.get("/applications/<application_id>/documents/<document_type>/content")
@require_auth()
def download_document(application_id: str, document_type: str) -> Response:
    principal = current_principal()
    assert principal is not None
    from sqlalchemy import select

    with _ctx().database.session() as session:
        if principal.is_staff:
            application = handlers.officer_application(session, application_id, _officer())
        else:
            application = handlers.own_application(session, application_id, principal.subject)
        document = session.scalar(
            select(ApplicationDocument).where(
                ApplicationDocument.application_id == application.id,
                ApplicationDocument.document_type == document_type,
            )
        )
        if document is None:
            raise NotFoundError
    content = _ctx().store.get(document.sha256)
    return Response(
        content,
        mimetype=document.media_type,
        headers={"Content-Disposition": "attachment; filename=document", "Cache-Control": "private, no-store"},
    )


@immigration.post("/applications/<application_id>/submit")
@require_auth(kind="citizen")
def submit_application(application_id: str) -> Response:
    with _uow() as uow:
        application = handlers.submit(
            uow, _ctx().catalog, application_id=application_id, citizen_id=_citizen(), now=_now()
        )
        return jsonify(application_json(uow.session, application))


@immigration.get("/applications/<application_id>/proposed-slots")
@require_auth(kind="citizen")
@rate_limited("slot-search")
def proposed_slots(application_id: str) -> Response:
    with _ctx().database.session() as session:
        application = handlers.own_application(session, application_id, _citizen())
        if application.status != domain.ApplicationStatus.DOCUMENTS_ACCEPTED.value:
            raise BookingRuleError("documents-not-accepted", "Slots are proposed once every document is accepted.")
        now = _now()
        slots = handlers.free_slots(
            session,
            application.office,
            now + timedelta(minutes=1),
            now + timedelta(days=120),
            _ctx().settings.proposed_slot_count,
        )
        return jsonify(items=[slot_json(s) for s in slots])


# --- review and visit (immigration officers) -------------------------------------------------------


@immigration.get("/review-queue")
@require_auth(OFFICER_ROLE)
def review_queue() -> Response:
    query = QueueQuery().load(request.args.to_dict(), unknown=RAISE)
    with _ctx().database.session() as session:
        rows = handlers.review_queue(session, _officer(), query.get("office"), query["limit"])
        return jsonify(items=[application_json(session, a, full=False) for a in rows])


@immigration.post("/applications/<application_id>/review")
@require_auth(OFFICER_ROLE)
def review_application(application_id: str) -> Response:
    body = load_json(ReviewRequest)
    decisions = [
        domain.DocumentDecision(d["document_type"], d["decision"] == "accepted", d.get("feedback"))
        for d in body["documents"]
    ]
    with _uow() as uow:
        application = handlers.review(
            uow, application_id=application_id, officer=_officer(), decisions=decisions, now=_now()
        )
        return jsonify(application_json(uow.session, application))


@immigration.post("/applications/<application_id>/visit")
@require_auth(OFFICER_ROLE)
def record_visit(application_id: str) -> Response:
    body = load_json(VisitRequest)
    now = _now()
    with _uow() as uow:
        application = handlers.record_visit(
            uow,
            application_id=application_id,
            officer=_officer(),
            biometrics_taken_at=body.get("biometrics_taken_at", now),
            pickup_from=body["pickup_from"],
            now=now,
        )
        return jsonify(application_json(uow.session, application))


@immigration.post("/applications/<application_id>/pickup")
@require_auth(OFFICER_ROLE)
def record_pickup(application_id: str) -> Response:
    with _uow() as uow:
        application = handlers.record_pickup(uow, application_id=application_id, officer=_officer(), now=_now())
        return jsonify(application_json(uow.session, application))


# --- appointments ----------------------------------------------------------------------------------


@appointments.post("")
@require_auth(kind="citizen")
@idempotent
@rate_limited("booking")
def book_appointment() -> tuple[Response, int, dict[str, str]]:
    body = load_json(BookingRequest)
    with _uow() as uow:
        appointment = handlers.book(
            uow,
            application_id=str(body["application_id"]),
            citizen_id=_citizen(),
            slot_id=body.get("slot_id"),
            links=_ctx().links,
            now=_now(),
        )
    BOOKING_OUTCOMES.labels(_ctx().settings.service_name, "booked").inc()
    return _created(
        appointment_json(appointment), url_for("appointments.show_appointment", appointment_id=appointment.id)
    )


@appointments.get("/<appointment_id>")
@require_auth(kind="citizen")
def show_appointment(appointment_id: str) -> Response:
    with _ctx().database.session() as session:
        return jsonify(appointment_json(handlers.own_appointment(session, appointment_id, _citizen())))


@appointments.post("/<appointment_id>/cancel")
@require_auth(kind="citizen")
def cancel_appointment(appointment_id: str) -> Response:
    with _uow() as uow:
        appointment = handlers.cancel(uow, appointment_id=appointment_id, citizen_id=_citizen(), now=_now())
    return jsonify(appointment_json(appointment))


@appointments.post("/<appointment_id>/reschedule")
@require_auth(kind="citizen")
@rate_limited("booking")
def reschedule_appointment(appointment_id: str) -> tuple[Response, int, dict[str, str]]:
    body = load_json(RescheduleRequest)
    with _uow() as uow:
        appointment = handlers.reschedule(
            uow,
            appointment_id=appointment_id,
            citizen_id=_citizen(),
            slot_id=body["slot_id"],
            links=_ctx().links,
            now=_now(),
        )
    return _created(
        appointment_json(appointment), url_for("appointments.show_appointment", appointment_id=appointment.id)
    )


# --- the signed link from the confirmation e-mail: GET only shows, POST acts -----------------------


#: Header that carries the link's token to the ``/linked`` routes: a web page acting for the
#: holder of the link keeps the credential out of every URL (and so out of access logs).
LINK_TOKEN_HEADER = "Appointment-Link-Token"  # noqa: S105 (a header name, not a secret)


def _linked_appointment_id(link_token: str | None) -> str:
    if link_token is None:
        link_token = request.headers.get(LINK_TOKEN_HEADER)
        if not link_token:
            raise Problem(
                400, f"Send the e-mailed link's token in the {LINK_TOKEN_HEADER} header.", kind="link-token-missing"
            )
    try:
        return _ctx().links.signer.verify(link_token, now=_now())
    except InvalidLinkError:
        raise Problem(404, "This link is invalid or has expired.", kind="invalid-link") from None


@appointments.get("/manage/<link_token>")
@appointments.get("/linked")
def show_linked_appointment(link_token: str | None = None) -> Response:
    appointment_id = _linked_appointment_id(link_token)
    with _ctx().database.session() as session:
        appointment = handlers.own_appointment(session, appointment_id, None)
        application = session.get(Application, appointment.application_id)
        assert application is not None
        active = appointment.status == domain.AppointmentStatus.BOOKED.value
        return jsonify(
            appointment=appointment_json(appointment),
            application_type=application.application_type,
            actions={
                "cancel": {"method": "POST", "href": f"{request.path}/cancel"} if active else None,
                "reschedule": {"method": "POST", "href": f"{request.path}/reschedule", "body": {"slot_id": "integer"}}
                if active
                else None,
            },
            detail="Nothing changes until you confirm with one of the actions (POST).",
        )


@appointments.get("/manage/<link_token>/slots")
@appointments.get("/linked/slots")
def linked_appointment_slots(link_token: str | None = None) -> Response:
    """Free slots at the appointment's office to move it to: the e-mailed link needs no sign-in."""
    appointment_id = _linked_appointment_id(link_token)
    query = SlotSearchQuery().load(request.args.to_dict(), unknown=RAISE)
    with _ctx().database.session() as session:
        appointment = handlers.own_appointment(session, appointment_id, None)
        office, citizen_id = appointment.office, appointment.citizen_id
        domain.check_can_change_appointment(
            domain.AppointmentStatus(appointment.status), aware(appointment.starts_at), _now()
        )
    take_allowance("slot-search", citizen_id)  # the same allowance as the applicant's own searches
    tz = domain.OFFICE_TIME_ZONE
    start = max(datetime.combine(query["date_from"], time.min, tz), _now())
    end = datetime.combine(query["date_to"] + timedelta(days=1), time.min, tz)
    with _ctx().database.session() as session:
        slots = handlers.free_slots(session, office, start, end, query["limit"])
        return jsonify(items=[slot_json(s) for s in slots])


@appointments.post("/manage/<link_token>/cancel")
@appointments.post("/linked/cancel")
def cancel_linked_appointment(link_token: str | None = None) -> Response:
    appointment_id = _linked_appointment_id(link_token)
    with _uow() as uow:
        appointment = handlers.cancel(uow, appointment_id=appointment_id, citizen_id=None, now=_now())
    return jsonify(appointment_json(appointment))


@appointments.post("/manage/<link_token>/reschedule")
@appointments.post("/linked/reschedule")
def reschedule_linked_appointment(link_token: str | None = None) -> tuple[Response, int]:
    appointment_id = _linked_appointment_id(link_token)
    body = load_json(RescheduleRequest)
    with _ctx().database.session() as session:
        citizen_id = handlers.own_appointment(session, appointment_id, None).citizen_id
    take_allowance("booking", citizen_id)
    with _uow() as uow:
        appointment = handlers.reschedule(
            uow,
            appointment_id=appointment_id,
            citizen_id=None,
            slot_id=body["slot_id"],
            links=_ctx().links,
            now=_now(),
        )
    # Whoever holds the old appointment's link may manage its replacement: the page that moved it
    # keeps working with the new token (the old one now names a cancelled appointment).
    return jsonify({**appointment_json(appointment), "link_token": _ctx().links.token_for(appointment)}), 201


def utc_now() -> datetime:
    return datetime.now(UTC)
