"""Immigration officers at the counter: the day's appointments at their office, and on an application's
page the visit (biometrics taken, pickup date set) and the pickup of the document."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm
from wtforms import DateField
from wtforms.validators import InputRequired

from ..staff import IMMIGRATION_OFFICER, current_staff, staff_only
from .documents import show_application

__all__ = ["VisitForm", "blueprint"]

blueprint = Blueprint("appointments", __name__, url_prefix="/appointments")


APPOINTMENT_STATUS_NAMES = {
    "booked": lazy_gettext("Booked"),
    "cancelled": lazy_gettext("Cancelled"),
    "attended": lazy_gettext("Attended"),
}


class VisitForm(PageForm):
    pickup_from = DateField(
        lazy_gettext("The document can be picked up from"),
        validators=[InputRequired(lazy_gettext("Enter the date from which the document can be picked up"))],
    )


def _offices() -> list[str]:
    return [code for code in current_staff().units_for(IMMIGRATION_OFFICER) if code != "*"]


@blueprint.get("", endpoint="day")
@staff_only(IMMIGRATION_OFFICER)
def day() -> ResponseReturnValue:
    offices = _offices()
    office = request.args.get("office") or (offices[0] if offices else "")
    try:
        chosen = date.fromisoformat(request.args.get("date", "")) if request.args.get("date") else date.today()
    except ValueError:
        chosen = date.today()
    items = []
    if office:
        try:
            items = call_api(
                "GET",
                f"/api/v1/offices/{quote(office, safe='')}/appointments",
                params={"date": chosen.isoformat()},
            ).json()["items"]
        except ApiProblem as problem:
            if problem.status not in (403, 404):
                raise
            abort(404)
    return render_template(
        "appointments/day.html",
        items=items,
        offices=offices,
        office=office,
        day=chosen,
        status_names=APPOINTMENT_STATUS_NAMES,
    )


@blueprint.post("/<application_id>/visit", endpoint="visit")
@staff_only(IMMIGRATION_OFFICER)
def visit(application_id: str) -> ResponseReturnValue:
    form = VisitForm()
    if not form.validate():
        return show_application(application_id, status=400, visit_form=form)
    try:
        call_api(
            "POST",
            f"/api/v1/immigration/applications/{quote(application_id, safe='')}/visit",
            json={"pickup_from": form.pickup_from.data.isoformat()},  # type: ignore[union-attr]
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        form.pickup_from.errors = [problem.detail]
        return show_application(application_id, status=400, visit_form=form)
    flash(gettext("The visit is recorded; the applicant is told when to pick the document up."), "success")
    return redirect(url_for("documents.application", application_id=application_id), code=303)


@blueprint.post("/<application_id>/pickup", endpoint="pickup")
@staff_only(IMMIGRATION_OFFICER)
def pickup(application_id: str) -> ResponseReturnValue:
    form = PageForm()
    if not form.validate():
        abort(400)
    try:
        call_api("POST", f"/api/v1/immigration/applications/{quote(application_id, safe='')}/pickup")
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return show_application(application_id, status=400, errors={"_page": problem.detail})
    flash(gettext("The pickup is recorded; the application is closed."), "success")
    return redirect(url_for("documents.application", application_id=application_id), code=303)
