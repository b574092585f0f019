"""Administrators: the one audit trail of staff actions (audit-svc), filtered and paged.

The filters travel in the address (a read that can be bookmarked and sent to a colleague): a staff
member's account id, the service, the action, a case reference and a range of days — never
personal data of a citizen, which the trail does not hold either.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from ..staff import ADMIN, staff_only
from .home import ROLE_NAMES
from .notifications import UUID_PATTERN

__all__ = ["blueprint"]

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

#: The day a date filter means: the ministry's.
BUCHAREST = ZoneInfo("Europe/Bucharest")
PER_PAGE = 50

SERVICE_NAMES = {
    "petition-svc": lazy_gettext("Petitions"),
    "identity-svc": lazy_gettext("Accounts and staff"),
    "record-svc": lazy_gettext("Criminal-record certificates"),
    "booking-svc": lazy_gettext("Immigration"),
    "notify-svc": lazy_gettext("Notifications"),
}
OUTCOME_NAMES = {"succeeded": lazy_gettext("Done"), "failed": lazy_gettext("Refused")}


class TrailFilter(PageForm):
    class Meta:
        csrf = False  # a read sent by GET

    actor = StringField(
        lazy_gettext("Staff member (account id)"),
        validators=[
            Optional(),
            Regexp(UUID_PATTERN, message=lazy_gettext("Enter an id like 3f2b8c1e-0d4a-4e7b-9c55-1a2b3c4d5e6f")),
        ],
    )
    service = SelectField(lazy_gettext("Service"), validators=[Optional()])
    action = StringField(
        lazy_gettext("Action"),
        validators=[
            Optional(),
            Regexp(r"^\s*[a-z_]+(\.[a-z_]+)*\s*$", message=lazy_gettext("Enter an action like petition.answer")),
        ],
    )
    reference = StringField(
        lazy_gettext("Case reference"),
        validators=[
            Optional(),
            Length(max=100),
            Regexp(
                r"^\s*[A-Za-z0-9._-]+\s*$",
                message=lazy_gettext("Enter a registration number like IGPR-2026-000123, or an id"),
            ),
        ],
    )
    date_from = DateField(lazy_gettext("From (day)"), validators=[Optional()])
    date_to = DateField(lazy_gettext("To (day, included)"), validators=[Optional()])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(gettext("The last day comes before the first"))


def _start_of(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=BUCHAREST).isoformat()


def _query(form: TrailFilter) -> dict[str, Any]:
    """audit-svc's query parameters for the form's filters."""
    params: dict[str, Any] = {"limit": PER_PAGE}
    for name, value in (
        ("actor", (form.actor.data or "").strip().lower()),
        ("service", form.service.data or ""),
        ("action", (form.action.data or "").strip()),
        ("reference", (form.reference.data or "").strip()),
    ):
        if value:
            params[name] = value
    if form.date_from.data:
        params["from"] = _start_of(form.date_from.data)
    if form.date_to.data:
        params["to"] = _start_of(form.date_to.data + timedelta(days=1))
    return params


@blueprint.get("", endpoint="trail")
@staff_only(ADMIN)
def trail() -> ResponseReturnValue:
    form = TrailFilter(request.args)
    form.service.choices = [SelectChoice("", gettext("Any service"))] + [
        SelectChoice(code, str(name)) for code, name in SERVICE_NAMES.items()
    ]
    before = request.args.get("before", "")
    records: list[dict[str, Any]] = []
    next_url = None
    if not form.validate():
        return _page(form, records, next_url), 400
    params = _query(form)
    if before.isdigit():
        params["before"] = int(before)
    try:
        page = call_api("GET", "/api/v1/audit/actions", params=params).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        show_problem(form, problem, field_map={"from": "date_from", "to": "date_to"})
        return _page(form, records, next_url), 400
    records = page["records"]
    if page.get("next_before"):
        kept = {k: v for k, v in request.args.items() if k != "before" and v}
        next_url = url_for("audit.trail") + "?" + urlencode({**kept, "before": page["next_before"]})
    return _page(form, records, next_url)


def _page(form: TrailFilter, records: list[dict[str, Any]], next_url: str | None) -> str:
    return render_template(
        "audit/trail.html",
        form=form,
        records=records,
        next_url=next_url,
        service_names=SERVICE_NAMES,
        role_names=ROLE_NAMES,
        outcome_names=OUTCOME_NAMES,
    )
