"""Appointments at an immigration office's counter: booking, moving and cancelling one, for the signed-in
applicant and for whoever opens the link in the confirmation e-mail (no sign-in needed).

The e-mailed link ``/appointments/manage/<token>`` carries a signed credential. Opening it moves the
token into the server-side session and redirects to ``/appointments/manage`` at once, so the address
bar, the history and every later request (and the ``Referer`` they send) show a clean URL; the API is
then called with the token in a header, never in a URL. Opening the link changes nothing: only the
page's forms (POST, with a CSRF token) cancel or move the appointment.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.auth import call_api, login_required
from mai_webkit.forms import PageForm
from wtforms import IntegerField
from wtforms.validators import InputRequired

from .immigration_views import (
    APPOINTMENT_STATUSES,
    application_types,
    check_id,
    local_date,
    local_datetime,
    localized,
    offices,
    search_window,
    slot_days,
    status_colour,
    today_in_romania,
)

__all__ = ["LINK_SESSION_KEY", "LINK_TOKEN_HEADER", "blueprint"]

blueprint = Blueprint("appointments", __name__)

#: Where the e-mailed link's token waits in the server-side session.
LINK_SESSION_KEY = "appointment_link"
#: How the token travels to the API (booking-svc's ``/api/v1/appointments/linked`` routes).
LINK_TOKEN_HEADER = "Appointment-Link-Token"  # noqa: S105 (a header name)
#: A token longer than this is not one booking-svc signs (a UUID, an expiry and a MAC).
MAX_LINK_TOKEN_LENGTH = 512


class SlotForm(PageForm):
    slot_id = IntegerField(
        lazy_gettext("Choose a time"), validators=[InputRequired(message=lazy_gettext("Choose a time"))]
    )


class BookForm(SlotForm):
    """A chosen slot, or the earliest free one (the ``earliest`` button)."""

    def validate(self, extra_validators: Any = None) -> bool:
        if request.form.get("earliest") == "1":
            self.slot_id.validators = []
        return bool(super().validate(extra_validators))


class CancelForm(PageForm):
    """A button with its CSRF token."""


_SLOT_REFUSALS = {
    "slot-taken": lazy_gettext("Someone has just booked this time. Choose another one."),
    "slot-in-the-past": lazy_gettext("This time has passed. Choose another one."),
    "rate-limited": lazy_gettext("Too many attempts in a short time. Wait a minute and try again."),
    "appointment-started": lazy_gettext("An appointment that has started cannot be changed."),
    "appointment-not-active": lazy_gettext("This appointment is no longer booked."),
    "appointment-exists": lazy_gettext("This application already has an appointment."),
    "documents-not-accepted": lazy_gettext("You can book once every document has been accepted."),
}


def _refusal(problem: ApiProblem) -> str:
    known = _SLOT_REFUSALS.get(problem.kind)
    if known is not None:
        return str(known)
    if problem.status == 404:
        return str(gettext("This time is no longer offered. Choose another one."))
    return str(gettext("The appointment could not be changed. Try again later."))


def _office_name(code: str) -> str:
    known = offices().get(code)
    return str(known["name"]) if known else code


def _type_name(code: str) -> str:
    kind = application_types().get(code)
    return localized(kind["name"]) if kind else code


def _appointment_view(appointment: dict[str, Any]) -> dict[str, Any]:
    return {
        **appointment,
        "when": local_datetime(appointment["starts_at"]),
        "ends": local_datetime(appointment["ends_at"])[-5:],
        "office_name": _office_name(appointment["office"]),
        "status_label": APPOINTMENT_STATUSES.get(appointment["status"], appointment["status"]),
        "status_colour": status_colour(appointment["status"]),
    }


def _window() -> tuple[Any, Any]:
    return search_window(request.args.get("from"), today_in_romania())


def _page_links(first: Any, last: Any) -> dict[str, str | None]:
    today = today_in_romania()
    earlier = first.toordinal() - (last.toordinal() - first.toordinal() + 1)
    previous = None if first <= today else max(today, type(first).fromordinal(earlier)).isoformat()
    return {"previous": previous, "next": type(first).fromordinal(last.toordinal() + 1).isoformat()}


# --- the signed-in applicant's appointment -------------------------------------------------------


def _application(application_id: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", f"/api/v1/immigration/applications/{application_id}").json())
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        raise


def _render_application_appointment(
    application: dict[str, Any], form: SlotForm | None = None, status: int = 200
) -> ResponseReturnValue:
    first, last = _window()
    days: list[Any] = []
    search_error = None
    appointment = application.get("appointment")
    can_book = application["status"] == "documents_accepted"
    if can_book or appointment:
        try:
            slots = call_api(
                "GET",
                f"/api/v1/offices/{application['office']}/slots",
                params={"from": first.isoformat(), "to": last.isoformat(), "limit": 500},
            ).json()["items"]
            days = slot_days(slots)
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            search_error = _refusal(problem)
    body = render_template(
        "immigration/appointment.html",
        application=application,
        type_name=_type_name(application["application_type"]),
        office_name=_office_name(application["office"]),
        appointment=_appointment_view(appointment) if appointment else None,
        can_book=can_book,
        days=days,
        period=(local_date(first), local_date(last)),
        pages=_page_links(first, last),
        search_error=search_error,
        form=form or (BookForm(formdata=None) if can_book else SlotForm(formdata=None)),
        cancel_form=CancelForm(formdata=None),
        base_path=url_for(".application_appointment", application_id=application["application_id"]),
        book_action=url_for(".book", application_id=application["application_id"]),
        reschedule_action=url_for(".reschedule", application_id=application["application_id"]),
        cancel_action=url_for(".cancel", application_id=application["application_id"]),
        signed_link=False,
    )
    return body, status


@blueprint.get("/applications/<application_id>/appointment")
@login_required
def application_appointment(application_id: str) -> ResponseReturnValue:
    return _render_application_appointment(_application(check_id(application_id)))


@blueprint.post("/applications/<application_id>/appointment")
@login_required
def book(application_id: str) -> ResponseReturnValue:
    application = _application(check_id(application_id))
    form = BookForm()
    if not form.validate_on_submit():
        return _render_application_appointment(application, form, 400 if form.csrf_token.errors else 422)
    choice: dict[str, Any] = (
        {"earliest": True} if request.form.get("earliest") == "1" else {"slot_id": form.slot_id.data}
    )
    try:
        booked = call_api(
            "POST",
            "/api/v1/appointments",
            json={"application_id": application["application_id"], **choice},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        form.page_errors.append(_refusal(problem))
        return _render_application_appointment(_application(application["application_id"]), form, problem.status)
    flash(
        gettext(
            "Your appointment is booked for %(when)s. We have e-mailed you the details.",
            when=local_datetime(booked["starts_at"]),
        ),
        "success",
    )
    return redirect(url_for(".application_appointment", application_id=application["application_id"]), code=303)


@blueprint.post("/applications/<application_id>/appointment/reschedule")
@login_required
def reschedule(application_id: str) -> ResponseReturnValue:
    application = _application(check_id(application_id))
    form = SlotForm()
    appointment = application.get("appointment")
    if appointment is None:
        flash(gettext("This application has no appointment to move."), "error")
        return redirect(url_for(".application_appointment", application_id=application["application_id"]), code=303)
    if not form.validate_on_submit():
        return _render_application_appointment(application, form, 400 if form.csrf_token.errors else 422)
    try:
        moved = call_api(
            "POST",
            f"/api/v1/appointments/{appointment['appointment_id']}/reschedule",
            json={"slot_id": form.slot_id.data},
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        form.page_errors.append(_refusal(problem))
        return _render_application_appointment(_application(application["application_id"]), form, problem.status)
    flash(gettext("Your appointment has been moved to %(when)s.", when=local_datetime(moved["starts_at"])), "success")
    return redirect(url_for(".application_appointment", application_id=application["application_id"]), code=303)


@blueprint.post("/applications/<application_id>/appointment/cancel")
@login_required
def cancel(application_id: str) -> ResponseReturnValue:
    application = _application(check_id(application_id))
    if not CancelForm().validate_on_submit():
        abort(400)
    appointment = application.get("appointment")
    if appointment is None:
        flash(gettext("This application has no appointment to cancel."), "error")
    else:
        try:
            call_api("POST", f"/api/v1/appointments/{appointment['appointment_id']}/cancel")
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            flash(_refusal(problem), "error")
        else:
            flash(gettext("Your appointment has been cancelled. You can book another time below."), "success")
    return redirect(url_for(".application_appointment", application_id=application["application_id"]), code=303)


# --- the link in the confirmation e-mail ---------------------------------------------------------


def _link_headers() -> dict[str, str]:
    token = session.get(LINK_SESSION_KEY)
    if not token:
        abort(404)
    return {LINK_TOKEN_HEADER: str(token)}


def _link_api(method: str, path: str = "", **options: Any) -> Any:
    """booking-svc's ``/api/v1/appointments/linked`` routes, the session's link token in a header."""
    return api().request(method, "/api/v1/appointments/linked" + path, headers=_link_headers(), **options).json()


def _linked() -> dict[str, Any] | None:
    """The linked appointment, or None when the link is invalid or has expired."""
    try:
        return dict(_link_api("GET"))
    except ApiProblem as problem:
        if problem.status in (400, 404):
            return None
        raise


def _render_linked(form: SlotForm | None = None, status: int = 200) -> ResponseReturnValue:
    if not session.get(LINK_SESSION_KEY):
        return render_template("immigration/link_missing.html"), 404
    linked = _linked()
    if linked is None:
        return render_template("immigration/link_missing.html", expired=True), 404
    appointment = linked["appointment"]
    first, last = _window()
    days: list[Any] = []
    search_error = None
    if appointment["status"] == "booked":
        try:
            slots = _link_api(
                "GET", "/slots", params={"from": first.isoformat(), "to": last.isoformat(), "limit": 500}
            )["items"]
            days = slot_days(slots)
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            search_error = _refusal(problem)
    body = render_template(
        "immigration/appointment.html",
        application=None,
        type_name=_type_name(linked.get("application_type", "")),
        office_name=_office_name(appointment["office"]),
        appointment=_appointment_view(appointment),
        can_book=False,
        days=days,
        period=(local_date(first), local_date(last)),
        pages=_page_links(first, last),
        search_error=search_error,
        form=form or SlotForm(formdata=None),
        cancel_form=CancelForm(formdata=None),
        base_path=url_for(".manage"),
        book_action=None,
        reschedule_action=url_for(".manage_reschedule"),
        cancel_action=url_for(".manage_cancel"),
        signed_link=True,
    )
    return body, status


@blueprint.get("/appointments/manage/<link_token>")
def open_link(link_token: str) -> ResponseReturnValue:
    """The e-mailed link: keep its token server-side and show the page at a clean address."""
    if len(link_token) <= MAX_LINK_TOKEN_LENGTH:
        session[LINK_SESSION_KEY] = link_token
    return redirect(url_for(".manage"), code=303)


@blueprint.get("/appointments/manage")
def manage() -> ResponseReturnValue:
    return _render_linked()


@blueprint.post("/appointments/manage/cancel")
def manage_cancel() -> ResponseReturnValue:
    if not CancelForm().validate_on_submit():
        abort(400)
    try:
        _link_api("POST", "/cancel")
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status in (400, 404):
            return render_template("immigration/link_missing.html", expired=True), 404
        flash(_refusal(problem), "error")
    else:
        flash(gettext("Your appointment has been cancelled. We have e-mailed you a confirmation."), "success")
    return redirect(url_for(".manage"), code=303)


@blueprint.post("/appointments/manage/reschedule")
def manage_reschedule() -> ResponseReturnValue:
    form = SlotForm()
    if not form.validate_on_submit():
        return _render_linked(form, 400 if form.csrf_token.errors else 422)
    try:
        moved = _link_api("POST", "/reschedule", json={"slot_id": form.slot_id.data})
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 400 or problem.kind == "invalid-link":
            return render_template("immigration/link_missing.html", expired=True), 404
        form.page_errors.append(_refusal(problem))
        return _render_linked(form, problem.status)
    # The old link now names a cancelled appointment; this page goes on with the new one's.
    session[LINK_SESSION_KEY] = moved["link_token"]
    flash(
        gettext(
            "Your appointment has been moved to %(when)s. We have e-mailed you the new details.",
            when=local_datetime(moved["starts_at"]),
        ),
        "success",
    )
    return redirect(url_for(".manage"), code=303)
