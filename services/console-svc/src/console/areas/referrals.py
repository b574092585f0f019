"""Counter officers: the criminal-record applications referred to their units' counters because of a
registry entry. The list per counter and state, a referral's page, its outcome (cleared, the entry
stands, or withdrawn), and for a cleared one the certificate issued at the counter, whose signed PDF
the officer downloads to hand over.

The CNP read from the applicant's identity document goes only in the POST body of the issue (the
API keeps only its keyed hash), never in an address, a log line or the session.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import DateField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..attachments import attachment_response
from ..staff import ANY_UNIT, COUNTER_CLERK, current_staff, staff_only
from .certificates import purpose_names

__all__ = ["blueprint"]

blueprint = Blueprint("referrals", __name__, url_prefix="/referrals")

NAME = r"^[^\d<>]{1,100}$"
#: The list's views: (state the API filters by, label).
STATES = (
    ("awaiting", lazy_gettext("Waiting for an outcome")),
    ("cleared", lazy_gettext("Cleared, to issue")),
    ("decided", lazy_gettext("Decided")),
    ("all", lazy_gettext("All")),
)
STATE_NAMES = {
    "awaiting": lazy_gettext("Waiting for an outcome"),
    "cleared": lazy_gettext("Cleared: issue the certificate"),
    "entry_confirmed": lazy_gettext("The entry stands"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "issued": lazy_gettext("Issued at the counter"),
}
OUTCOMES = (
    ("cleared", lazy_gettext("Cleared: the entry does not bar a certificate (another person's, or rehabilitated)")),
    ("entry_confirmed", lazy_gettext("The entry stands: the registry's own procedure follows")),
    ("withdrawn", lazy_gettext("The applicant withdrew the application")),
)


class OutcomeForm(PageForm):
    outcome = RadioField(
        lazy_gettext("What did the check at the counter find?"),
        choices=[SelectChoice(code, label) for code, label in OUTCOMES],
        validators=[InputRequired(lazy_gettext("Choose the outcome"))],
    )
    note = TextAreaField(
        lazy_gettext("Note (optional)"),
        validators=[Optional(), Length(max=1000, message=lazy_gettext("The note must be at most 1,000 characters"))],
    )


class IssueForm(PageForm):
    cnp = StringField(
        lazy_gettext("CNP, as printed on the identity document"),
        validators=[
            DataRequired(lazy_gettext("Enter the CNP printed on the document")),
            Regexp(r"^\d{13}$", message=lazy_gettext("The CNP is 13 digits")),
        ],
    )
    last_name = StringField(
        lazy_gettext("Last name, as on the document"),
        validators=[DataRequired(lazy_gettext("Enter the last name")), Regexp(NAME)],
    )
    first_name = StringField(
        lazy_gettext("First name, as on the document"),
        validators=[DataRequired(lazy_gettext("Enter the first name")), Regexp(NAME)],
    )
    birth_date = DateField(
        lazy_gettext("Date of birth"), validators=[InputRequired(lazy_gettext("Enter the date of birth"))]
    )


def _units() -> list[str]:
    return [unit for unit in current_staff().units_for(COUNTER_CLERK) if unit != ANY_UNIT]


def _referral_path(referral_id: str, tail: str = "") -> str:
    return f"/api/v1/certificates/referrals/{quote(referral_id, safe='')}{tail}"


def _valid_id(referral_id: str) -> str:
    try:
        return str(uuid.UUID(referral_id))
    except ValueError:
        abort(404)


def _referral(referral_id: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", _referral_path(_valid_id(referral_id))).json())
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise


@blueprint.get("", endpoint="queue")
@staff_only(COUNTER_CLERK)
def queue() -> ResponseReturnValue:
    units = _units()
    unit = request.args.get("unit", "")
    if unit and not current_staff().acts_in(COUNTER_CLERK, unit):
        abort(403)
    state = request.args.get("state", "awaiting")
    if state not in dict(STATES):
        state = "awaiting"
    params = {"state": state, **({"unit": unit} if unit else {})}
    items = call_api("GET", "/api/v1/certificates/referrals", params=params).json()["items"]
    return render_template(
        "referrals/queue.html",
        items=items,
        units=units,
        unit=unit,
        state=state,
        states=STATES,
        state_names=STATE_NAMES,
    )


def _show(
    referral: dict[str, Any],
    status: int = 200,
    *,
    outcome: OutcomeForm | None = None,
    issue: IssueForm | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "referrals/referral.html",
            referral=referral,
            state_names=STATE_NAMES,
            outcome_names=dict(OUTCOMES),
            outcome=outcome or OutcomeForm(formdata=None),
            issue=issue or IssueForm(formdata=None),
            purpose_names=purpose_names(),
        ),
        status,
    )


@blueprint.get("/<referral_id>", endpoint="referral")
@staff_only(COUNTER_CLERK)
def referral_page(referral_id: str) -> ResponseReturnValue:
    return _show(_referral(referral_id))


@blueprint.post("/<referral_id>/outcome", endpoint="outcome")
@staff_only(COUNTER_CLERK)
def record_outcome(referral_id: str) -> ResponseReturnValue:
    referral = _referral(referral_id)
    form = OutcomeForm()
    if not form.validate():
        return _show(referral, 400, outcome=form)
    body = {"outcome": form.outcome.data, "note": (form.note.data or "").strip() or None}
    try:
        call_api("POST", _referral_path(referral["id"], "/outcome"), json=body)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        show_problem(form, problem)
        return _show(_referral(referral_id), 400, outcome=form)
    flash(gettext("The outcome is recorded."), "success")
    return redirect(url_for("referrals.referral", referral_id=referral["id"]), code=303)


@blueprint.post("/<referral_id>/certificate", endpoint="issue")
@staff_only(COUNTER_CLERK)
def issue(referral_id: str) -> ResponseReturnValue:
    referral = _referral(referral_id)
    form = IssueForm()
    if not form.validate():
        form.cnp.data = ""
        return _show(referral, 400, issue=form)
    body = {
        "cnp": form.cnp.data,
        "last_name": (form.last_name.data or "").strip(),
        "first_name": (form.first_name.data or "").strip(),
        "birth_date": form.birth_date.data.isoformat(),  # type: ignore[union-attr]
    }
    try:
        call_api(
            "POST",
            _referral_path(referral["id"], "/certificate"),
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.kind == "holder-mismatch":
            form.cnp.errors = [gettext("This CNP is not the applicant's: check the identity document again.")]
        else:
            show_problem(form, problem)
        form.cnp.data = ""
        return _show(_referral(referral_id), 400, issue=form)
    flash(
        gettext("The certificate is issued. Download it to print and hand it over; the holder can also download it."),
        "success",
    )
    return redirect(url_for("referrals.referral", referral_id=referral["id"]), code=303)


@blueprint.get("/<referral_id>/certificate.pdf", endpoint="pdf")
@staff_only(COUNTER_CLERK)
def pdf(referral_id: str) -> ResponseReturnValue:
    referral = _referral(referral_id)
    try:
        download = call_api("GET", _referral_path(referral["id"], "/certificate/pdf"))
    except ApiProblem as problem:
        if problem.status in (404, 409, 410):
            abort(404)
        raise
    return attachment_response(
        download.content,
        media_type="application/pdf",
        file_name=f"cazier-judiciar-{referral.get('registration_number') or referral['id']}",
    )
