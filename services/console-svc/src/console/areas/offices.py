"""Office managers: an office's weekly opening hours and counters per slot type (seen and changed), its
closures ahead, and a new closure, declared only after the manager has seen booking-svc's preview:
each appointment booked on those days and the later slot it would move to, or that it would be
cancelled (each applicant is mailed by the platform).

The office's code is in every address: a member who does not manage that office gets 403 here,
before any API call (the API answers such a member "not found" as well).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem, public_json
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import WEEKDAYS
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..staff import ANY_UNIT, OFFICE_MANAGER, current_staff, staff_only

__all__ = ["CapacityForm", "ClosureForm", "OpeningHoursForm", "blueprint"]

blueprint = Blueprint("offices", __name__, url_prefix="/offices")

SLOT_TYPES = (("visit", lazy_gettext("Visits (originals and biometrics)")),)
#: Intervals of one day, as typed: "08:30-12:30, 13:00-16:00" (empty: closed).
INTERVALS = r"^\s*(\d{2}:\d{2}\s*-\s*\d{2}:\d{2}\s*(,\s*\d{2}:\d{2}\s*-\s*\d{2}:\d{2}\s*)*)?$"


def _weekday_field(label: Any) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Length(max=200),
            Regexp(INTERVALS, message=lazy_gettext("Write the hours like 08:30-12:30, 13:00-16:00")),
        ],
    )


class OpeningHoursForm(PageForm):
    monday = _weekday_field(lazy_gettext("Monday"))
    tuesday = _weekday_field(lazy_gettext("Tuesday"))
    wednesday = _weekday_field(lazy_gettext("Wednesday"))
    thursday = _weekday_field(lazy_gettext("Thursday"))
    friday = _weekday_field(lazy_gettext("Friday"))
    saturday = _weekday_field(lazy_gettext("Saturday"))
    sunday = _weekday_field(lazy_gettext("Sunday"))


class CapacityForm(PageForm):
    visit = IntegerField(
        lazy_gettext("Counters serving visits (originals and biometrics)"),
        validators=[
            InputRequired(lazy_gettext("Enter a number of counters")),
            NumberRange(min=0, max=99, message=lazy_gettext("Enter a number of counters from 0 to 99")),
        ],
    )


class ClosureForm(PageForm):
    first_day = DateField(
        lazy_gettext("First day closed"),
        validators=[InputRequired(lazy_gettext("Enter the first day the office is closed"))],
    )
    last_day = DateField(lazy_gettext("Last day closed (leave empty for one day)"), validators=[Optional()])
    reason = TextAreaField(
        lazy_gettext("Reason (kept with the closure)"),
        validators=[
            DataRequired(lazy_gettext("Say why the office is closed")),
            Length(max=500, message=lazy_gettext("The reason must be at most 500 characters")),
        ],
    )


# --- reads ----------------------------------------------------------------------------------------


def _unless_the_form_is_at_fault(problem: ApiProblem) -> None:
    """Pass on what no form field explains: booking-svc failing (5xx) or the office unknown (404)."""
    if problem.status >= 500:
        raise problem
    if problem.status == 404:
        abort(404)


def _managed_offices() -> list[str]:
    units = current_staff().units_for(OFFICE_MANAGER)
    if ANY_UNIT in units:
        return [item["code"] for item in public_json("/api/v1/offices")["items"]]
    return units


def _office_path(code: str, tail: str = "") -> str:
    return f"/api/v1/offices/{quote(code, safe='')}{tail}"


def _require_office(code: str) -> None:
    if not current_staff().acts_in(OFFICE_MANAGER, code):
        abort(403)


def _schedule(code: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", _office_path(code, "/schedule")).json())
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise


def _hours_form(schedule: dict[str, Any]) -> OpeningHoursForm:
    hours = schedule.get("opening_hours") or {}
    return OpeningHoursForm(formdata=None, **{day: ", ".join(hours.get(day, [])) for day, _ in WEEKDAYS})


def _capacity_form(schedule: dict[str, Any]) -> CapacityForm:
    capacity = schedule.get("capacity") or {}
    return CapacityForm(formdata=None, **{code: capacity.get(code, 0) for code, _ in SLOT_TYPES})


def _show(
    schedule: dict[str, Any],
    status: int = 200,
    *,
    hours: OpeningHoursForm | None = None,
    capacity: CapacityForm | None = None,
    closure: ClosureForm | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "offices/office.html",
            office=schedule,
            weekdays=WEEKDAYS,
            slot_types=SLOT_TYPES,
            hours=hours or _hours_form(schedule),
            capacity=capacity or _capacity_form(schedule),
            closure=closure or ClosureForm(formdata=None),
        ),
        status,
    )


@blueprint.get("", endpoint="index")
@staff_only(OFFICE_MANAGER)
def index() -> ResponseReturnValue:
    offices = _managed_offices()
    if len(offices) == 1:
        return redirect(url_for("offices.office", code=offices[0]), code=303)
    names = {item["code"]: item["name"] for item in public_json("/api/v1/offices")["items"]}
    return render_template("offices/index.html", offices=[(code, names.get(code, code)) for code in offices])


@blueprint.get("/<code>", endpoint="office")
@staff_only(OFFICE_MANAGER)
def office(code: str) -> ResponseReturnValue:
    _require_office(code)
    return _show(_schedule(code))


# --- hours and counters ---------------------------------------------------------------------------


def _changed(schedule: dict[str, Any]) -> str:
    return str(
        gettext(
            "Saved. Slots created: %(created)d; free slots withdrawn: %(withdrawn)d. Booked appointments are kept.",
            created=schedule.get("slots_created", 0),
            withdrawn=schedule.get("slots_withdrawn", 0),
        )
    )


@blueprint.post("/<code>/opening-hours", endpoint="opening_hours")
@staff_only(OFFICE_MANAGER)
def opening_hours(code: str) -> ResponseReturnValue:
    _require_office(code)
    form = OpeningHoursForm()
    if not form.validate():
        return _show(_schedule(code), 400, hours=form)
    body = {
        day: [part.replace(" ", "") for part in (form[day].data or "").split(",") if part.strip()]
        for day, _ in WEEKDAYS
    }
    try:
        schedule = call_api(
            "PUT",
            _office_path(code, "/schedule/opening-hours"),
            json={"opening_hours": {d: i for d, i in body.items() if i}},
        ).json()
    except ApiProblem as problem:
        _unless_the_form_is_at_fault(problem)
        _place_weekday_problem(form, problem)
        return _show(_schedule(code), 400, hours=form)
    flash(_changed(schedule), "success")
    return redirect(url_for("offices.office", code=code), code=303)


def _place_weekday_problem(form: OpeningHoursForm, problem: ApiProblem) -> None:
    """The API names a weekday's interval ``opening_hours.monday.0``, or the weekday in its detail."""
    field_map = {name: name.split(".")[1] for name in problem.field_errors if name.count(".") >= 1}
    if not problem.field_errors:
        day = next((d for d, _ in WEEKDAYS if problem.detail.startswith(f"{d}:")), None)
        if day is not None:
            form[day].errors = [problem.detail.partition(":")[2].strip()]
            return
    show_problem(form, problem, field_map=field_map)


@blueprint.post("/<code>/capacity", endpoint="capacity")
@staff_only(OFFICE_MANAGER)
def capacity(code: str) -> ResponseReturnValue:
    _require_office(code)
    form = CapacityForm()
    if not form.validate():
        return _show(_schedule(code), 400, capacity=form)
    try:
        schedule = call_api(
            "PUT", _office_path(code, "/schedule/capacity"), json={"capacity": {c: form[c].data for c, _ in SLOT_TYPES}}
        ).json()
    except ApiProblem as problem:
        _unless_the_form_is_at_fault(problem)
        show_problem(form, problem, field_map={f"capacity.{c}": c for c, _ in SLOT_TYPES})
        if not problem.field_errors and form.page_errors:
            # "The office has 4 counters; the slot types ask for more." belongs beside the number.
            form.visit.errors = list(form.page_errors)
            form.page_errors.clear()
        return _show(_schedule(code), 400, capacity=form)
    flash(_changed(schedule), "success")
    return redirect(url_for("offices.office", code=code), code=303)


# --- closures -------------------------------------------------------------------------------------


def _checked_closure(form: ClosureForm) -> bool:
    if not form.validate():
        return False
    first, last = form.first_day.data, form.last_day.data or form.first_day.data
    assert first is not None and last is not None
    if first < date.today():
        form.first_day.errors = [gettext("The first day cannot be in the past")]
    elif last < first:
        form.last_day.errors = [gettext("The last day cannot be before the first day")]
    return not form.errors


@blueprint.post("/<code>/closures", endpoint="close")
@staff_only(OFFICE_MANAGER)
def close(code: str) -> ResponseReturnValue:
    """First the preview (step absent or "preview"), then the closure itself (step "confirm")."""
    _require_office(code)
    form = ClosureForm()
    if not _checked_closure(form):
        return _show(_schedule(code), 400, closure=form)
    first = form.first_day.data
    last = form.last_day.data or first
    assert first is not None and last is not None
    if request.form.get("step") != "confirm":
        try:
            preview = call_api(
                "GET",
                _office_path(code, "/closures/preview"),
                params={"first_day": first.isoformat(), "last_day": last.isoformat()},
            ).json()
        except ApiProblem as problem:
            _unless_the_form_is_at_fault(problem)
            show_problem(form, problem)
            return _show(_schedule(code), 400, closure=form)
        return render_template("offices/closure_preview.html", office=_schedule(code), form=form, preview=preview)
    body = {"first_day": first.isoformat(), "last_day": last.isoformat(), "reason": (form.reason.data or "").strip()}
    try:
        outcome = call_api("POST", _office_path(code, "/closures"), json=body).json()
    except ApiProblem as problem:
        _unless_the_form_is_at_fault(problem)
        show_problem(form, problem)
        return _show(_schedule(code), 400, closure=form)
    return render_template("offices/closure_done.html", office=_schedule(code), outcome=outcome)
