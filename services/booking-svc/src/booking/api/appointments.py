"""Appointments: the applicant's booking, cancelling and rescheduling, and the e-mailed manage link."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, jsonify, request, url_for
from mai_chassis import Problem, idempotent, load_json, require_auth
from mai_chassis.web import unit_of_work
from marshmallow import RAISE

from .. import handlers
from ..domain import AppointmentStatus
from ..handlers.allowances import BOOKING, SLOT_SEARCH
from ..schemas import (
    AppointmentResponse,
    BookingRequest,
    LinkedAppointmentResponse,
    LinkedRescheduleResponse,
    RescheduleRequest,
    SlotResponse,
    SlotSearchQuery,
)
from ..tables import Appointment
from .blueprints import appointments
from .context import citizen, deps, rate_limited, spend_allowance


def _created(appointment: Appointment) -> tuple[Response, int, dict[str, str]]:
    location = url_for("appointments.show_appointment", appointment_id=appointment.id)
    return jsonify(AppointmentResponse().dump(appointment)), 201, {"Location": location}


@appointments.post("")
@require_auth(kind="citizen")
@idempotent
@rate_limited(BOOKING)
def book_appointment() -> tuple[Response, int, dict[str, str]]:
    body = load_json(BookingRequest)
    command = handlers.BookAppointment(str(body["application_id"]), citizen(), body.get("slot_id"))
    with unit_of_work() as uow:
        appointment = handlers.book_appointment(uow, deps(), command)
    return _created(appointment)


@appointments.get("/<appointment_id>")
@require_auth(kind="citizen")
def show_appointment(appointment_id: str) -> Response:
    with unit_of_work() as uow:
        appointment = handlers.show_appointment(uow, deps(), handlers.ShowAppointment(appointment_id, citizen()))
        answer = AppointmentResponse().dump(appointment)
    return jsonify(answer)


@appointments.post("/<appointment_id>/cancel")
@require_auth(kind="citizen")
def cancel_appointment(appointment_id: str) -> Response:
    with unit_of_work() as uow:
        appointment = handlers.cancel_appointment(uow, deps(), handlers.CancelAppointment(appointment_id, citizen()))
        answer = AppointmentResponse().dump(appointment)
    return jsonify(answer)


@appointments.post("/<appointment_id>/reschedule")
@require_auth(kind="citizen")
@rate_limited(BOOKING)
def reschedule_appointment(appointment_id: str) -> tuple[Response, int, dict[str, str]]:
    body = load_json(RescheduleRequest)
    command = handlers.RescheduleAppointment(appointment_id, citizen(), body["slot_id"])
    with unit_of_work() as uow:
        appointment = handlers.reschedule_appointment(uow, deps(), command)
    return _created(appointment)


# --- the signed link from the confirmation e-mail: GET only shows, POST acts -----------------------


#: Header that carries the link's token to the ``/linked`` routes: a web page acting for the
#: holder of the link keeps the credential out of every URL (and so out of access logs).
LINK_TOKEN_HEADER = "Appointment-Link-Token"  # noqa: S105 (a header name, not a secret)


@dataclass(frozen=True)
class LinkedReschedule:
    """The new appointment, and the token that manages it (the old one names a cancelled appointment)."""

    appointment: Appointment
    link_token: str


def _link_token(link_token: str | None) -> str:
    """The token from the path (links already sent) or from the header."""
    if link_token is None:
        link_token = request.headers.get(LINK_TOKEN_HEADER)
        if not link_token:
            raise Problem(
                400, f"Send the e-mailed link's token in the {LINK_TOKEN_HEADER} header.", kind="link-token-missing"
            )
    return link_token


def _open_link(link_token: str | None, *, changeable: bool = False) -> handlers.LinkedAppointment:
    query = handlers.OpenLink(_link_token(link_token), changeable=changeable)
    with unit_of_work() as uow:
        return handlers.open_link(uow, deps(), query)


@appointments.get("/manage/<link_token>")
@appointments.get("/linked")
def show_linked_appointment(link_token: str | None = None) -> Response:
    query = handlers.OpenLink(_link_token(link_token))
    with unit_of_work() as uow:
        linked = handlers.open_link(uow, deps(), query)
        active = linked.appointment.status == AppointmentStatus.BOOKED.value
        actions = {
            "cancel": {"method": "POST", "href": f"{request.path}/cancel"} if active else None,
            "reschedule": {"method": "POST", "href": f"{request.path}/reschedule", "body": {"slot_id": "integer"}}
            if active
            else None,
        }
        shown = {
            "appointment": linked.appointment,
            "application_type": linked.application_type,
            "actions": actions,
            "detail": "Nothing changes until you confirm with one of the actions (POST).",
        }
        answer = LinkedAppointmentResponse().dump(shown)
    return jsonify(answer)


@appointments.get("/manage/<link_token>/slots")
@appointments.get("/linked/slots")
def linked_appointment_slots(link_token: str | None = None) -> Response:
    """Free slots at the appointment's office to move it to: the e-mailed link needs no sign-in."""
    token = _link_token(link_token)
    query = SlotSearchQuery().load(request.args.to_dict(), unknown=RAISE)
    linked = _open_link(token, changeable=True)
    spend_allowance(SLOT_SEARCH, linked.citizen_id)  # the same allowance as the applicant's own searches
    search = handlers.SearchSlots(linked.office, query["date_from"], query["date_to"], query["limit"])
    with unit_of_work() as uow:
        slots = handlers.search_slots(uow, deps(), search)
        answer = SlotResponse(many=True).dump(slots)
    return jsonify(items=answer)


@appointments.post("/manage/<link_token>/cancel")
@appointments.post("/linked/cancel")
def cancel_linked_appointment(link_token: str | None = None) -> Response:
    linked = _open_link(link_token)
    with unit_of_work() as uow:
        cancelled = handlers.cancel_appointment(uow, deps(), handlers.CancelAppointment(linked.appointment_id, None))
    return jsonify(AppointmentResponse().dump(cancelled))


@appointments.post("/manage/<link_token>/reschedule")
@appointments.post("/linked/reschedule")
def reschedule_linked_appointment(link_token: str | None = None) -> tuple[Response, int]:
    linked = _open_link(link_token)
    body = load_json(RescheduleRequest)
    spend_allowance(BOOKING, linked.citizen_id)
    command = handlers.RescheduleAppointment(linked.appointment_id, None, body["slot_id"])
    with unit_of_work() as uow:
        replacement = handlers.reschedule_appointment(uow, deps(), command)
    # Whoever holds the old appointment's link may manage its replacement: the page that moved it
    # keeps working with the new token (the old one now names a cancelled appointment).
    moved = LinkedReschedule(replacement, deps().links.token_for(replacement))
    return jsonify(LinkedRescheduleResponse().dump(moved)), 201
