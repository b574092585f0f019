"""Counter officers: a citizen in front of them is found by the code their account shows (or their
e-mail address), and their identity is verified against the ID document they hand over.

The CNP typed from the document travels only in the form's POST body and the API call's JSON body,
never in an address or a log line, and is not kept in the session.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import EmailField, HiddenField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from ..staff import COUNTER_CLERK, current_staff, staff_only

__all__ = ["blueprint"]

blueprint = Blueprint("counter", __name__, url_prefix="/counter")

NAME = r"^[^\d<>]{1,100}$"


class LookupForm(PageForm):
    unit = SelectField(lazy_gettext("Your counter"), validators=[DataRequired()])
    counter_code = StringField(
        lazy_gettext("Code shown by the citizen"),
        validators=[Optional(), Length(min=8, max=12, message=lazy_gettext("Enter a code like K7QM-3XPA"))],
    )
    email = EmailField(
        lazy_gettext("Or the citizen's e-mail address"),
        validators=[Optional(), Email(lazy_gettext("Enter an e-mail address like name@example.com"))],
    )


class VerificationForm(PageForm):
    unit = HiddenField()
    citizen_id = HiddenField()
    document_type = RadioField(
        lazy_gettext("Document checked"),
        choices=[
            SelectChoice("identity_card", lazy_gettext("Identity card")),
            SelectChoice("provisional_identity_card", lazy_gettext("Provisional identity card")),
            SelectChoice("passport", lazy_gettext("Passport")),
        ],
        validators=[InputRequired(lazy_gettext("Choose the document you checked"))],
    )
    series = StringField(
        lazy_gettext("Series (identity cards)"),
        validators=[Optional(), Regexp(r"^[A-Za-z]{2}$", message=lazy_gettext("The series is two letters, e.g. RX"))],
    )
    number = StringField(
        lazy_gettext("Document number"),
        validators=[
            DataRequired(lazy_gettext("Enter the document's number")),
            Regexp(r"^[A-Za-z0-9]{6,9}$", message=lazy_gettext("The number is 6 to 9 letters or digits")),
        ],
    )
    cnp = StringField(
        lazy_gettext("CNP, as printed on the document"),
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


def _units() -> list[SelectChoice]:
    return [SelectChoice(unit) for unit in current_staff().units_for(COUNTER_CLERK) if unit != "*"]


def _page(
    lookup: LookupForm, account: dict[str, Any] | None, verify: VerificationForm | None, status: int = 200
) -> tuple[str, int]:
    return render_template("counter/counter.html", lookup=lookup, account=account, verify=verify), status


@blueprint.route("", methods=["GET", "POST"], endpoint="look_up")
@staff_only(COUNTER_CLERK)
def look_up() -> ResponseReturnValue:
    lookup = LookupForm()
    lookup.unit.choices = _units()
    if not lookup.is_submitted():
        return _page(lookup, None, None)
    code = (lookup.counter_code.data or "").strip().upper()
    email = (lookup.email.data or "").strip()
    if lookup.validate() and bool(code) == bool(email):
        lookup.page_errors.append(gettext("Enter the code the citizen shows, or their e-mail address, not both."))
    if lookup.errors or lookup.page_errors:
        return _page(lookup, None, None, 400)
    try:
        account = call_api(
            "POST",
            "/api/v1/staff/counter/lookups",
            json={"unit": lookup.unit.data, "counter_code": code or None, "email": email or None},
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            lookup.counter_code.errors = [gettext("No account matches. Check the code with the citizen.")]
        else:
            show_problem(lookup, problem)
        return _page(lookup, None, None, 400)
    verify = VerificationForm(formdata=None, unit=lookup.unit.data, citizen_id=account["citizen_id"])
    return _page(lookup, account, verify)


@blueprint.post("/verification", endpoint="verify")
@staff_only(COUNTER_CLERK)
def verify() -> ResponseReturnValue:
    form = VerificationForm()
    lookup = LookupForm(formdata=None, unit=form.unit.data)
    lookup.unit.choices = _units()
    account = {"citizen_id": form.citizen_id.data}
    if form.unit.data not in [c.value for c in lookup.unit.choices] or not form.citizen_id.data:
        lookup.page_errors.append(gettext("Find the citizen's account first."))
        return _page(lookup, None, None, 400)
    if not form.validate():
        return _page(lookup, account, form, 400)
    body = {
        "citizen_id": form.citizen_id.data,
        "unit": form.unit.data,
        "document": {
            "type": form.document_type.data,
            "series": (form.series.data or "").upper() or None,
            "number": (form.number.data or "").upper(),
        },
        "cnp": form.cnp.data,
        "last_name": (form.last_name.data or "").strip(),
        "first_name": (form.first_name.data or "").strip(),
    }
    try:
        verified = call_api("POST", "/api/v1/staff/counter/verifications", json=body).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.kind == "identity-mismatch":
            form.page_errors.append(
                gettext("The document does not match the account: check the CNP and the names with the citizen.")
            )
        elif problem.kind == "already-verified":
            form.page_errors.append(gettext("This citizen's identity is already verified."))
        else:
            show_problem(form, problem, field_map={"document.number": "number", "document.series": "series"})
        form.cnp.data = ""
        return _page(lookup, account, form, 400)
    return render_template("counter/verified.html", verified=verified)
