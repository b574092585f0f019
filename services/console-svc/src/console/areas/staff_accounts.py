"""Administrators: the staff accounts of their units (identity-svc's staff API), a new member (who is
mailed an invitation to choose a password), roles granted and revoked per unit, and the reset of a
member's lost second factor (they enrol a new authenticator at their next sign-in).

What an administrator may change is decided by identity-svc on every call (an admin of one unit
grants that unit's roles, never ``admin``); the pages offer the units the member administers.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Regexp

from ..staff import ADMIN, ANY_UNIT, current_staff, staff_only
from .home import ROLE_NAMES as HOME_ROLE_NAMES
from .notifications import UUID_PATTERN

__all__ = ["blueprint"]

blueprint = Blueprint("staff_accounts", __name__, url_prefix="/staff-accounts")

UNIT_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\s*$"
PER_PAGE = 50
#: Every role identity-svc grants, by the name the pages show.
ROLE_NAMES = {"office_manager": lazy_gettext("Office manager"), **HOME_ROLE_NAMES}


def _role_choices() -> list[SelectChoice]:
    roles = [r for r in ROLE_NAMES if r != ADMIN or ANY_UNIT in current_staff().units_for(ADMIN)]
    return [SelectChoice("", gettext("Choose a role"))] + [SelectChoice(r, str(ROLE_NAMES[r])) for r in roles]


def _unit_field() -> StringField:
    return StringField(
        lazy_gettext("Unit"),
        validators=[
            DataRequired(lazy_gettext("Enter the unit's code")),
            Regexp(UNIT_PATTERN, message=lazy_gettext("Enter a unit code like IGPR or SPCEP-B1")),
        ],
    )


class GrantForm(PageForm):
    role = SelectField(lazy_gettext("Role"), validators=[DataRequired(lazy_gettext("Choose the role"))])
    unit = _unit_field()


class NewMemberForm(GrantForm):
    email = EmailField(
        lazy_gettext("Work e-mail address"),
        validators=[
            DataRequired(lazy_gettext("Enter the member's work e-mail address")),
            Email(lazy_gettext("Enter an e-mail address like name@mai.gov.ro")),
            Length(max=254),
        ],
    )
    name = StringField(
        lazy_gettext("Full name"),
        validators=[DataRequired(lazy_gettext("Enter the member's full name")), Length(max=200)],
    )
    language = RadioField(
        lazy_gettext("Language of the invitation"),
        choices=[SelectChoice("ro", "Română"), SelectChoice("en", "English")],
        default="ro",
        validators=[InputRequired(lazy_gettext("Choose a language"))],
    )


class RevokeForm(PageForm):
    role = HiddenField(validators=[DataRequired()])
    unit = HiddenField(validators=[DataRequired(), Regexp(UNIT_PATTERN + r"|^\*$")])


class ResetForm(PageForm):
    confirmed = BooleanField(
        lazy_gettext("I have made sure that the member asking is who they say they are"),
        validators=[InputRequired(lazy_gettext("Confirm that you made sure who is asking"))],
    )


def _units() -> list[str]:
    return current_staff().units_for(ADMIN)


def _staff_id(staff_id: str) -> str:
    if not re.match(UUID_PATTERN, staff_id):
        abort(404)
    return str(uuid.UUID(staff_id.strip()))


@blueprint.get("", endpoint="index")
@staff_only(ADMIN)
def index() -> ResponseReturnValue:
    units = _units()
    unit = (request.args.get("unit") or "").strip()
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    params: dict[str, Any] = {"page": max(page, 1), "per_page": PER_PAGE}
    if unit:
        params["unit"] = unit
    error = None
    found: dict[str, Any] = {"items": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    try:
        found = call_api("GET", "/api/v1/staff/accounts", params=params).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        error = (
            gettext("You do not administer this unit.")
            if problem.status == 403
            else gettext("Enter a unit code like IGPR or SPCEP-B1")
        )
    return render_template(
        "staff_accounts/index.html",
        found=found,
        unit=unit,
        units=units,
        every_unit=ANY_UNIT in units,
        role_names=ROLE_NAMES,
        error=error,
    ), (400 if error else 200)


def _member(staff_id: str) -> dict[str, Any]:
    try:
        return call_api("GET", f"/api/v1/staff/accounts/{quote(staff_id, safe='')}").json()  # type: ignore[no-any-return]
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise


def _show_member(
    member: dict[str, Any], grant: GrantForm | None = None, reset: ResetForm | None = None, status: int = 200
) -> tuple[str, int]:
    grant = grant or GrantForm(formdata=None)
    grant.role.choices = _role_choices()
    return render_template(
        "staff_accounts/member.html",
        member=member,
        grant=grant,
        reset=reset or ResetForm(formdata=None),
        revoke=RevokeForm(formdata=None),
        role_names=ROLE_NAMES,
        is_self=member["staff_id"] == current_staff().subject,
    ), status


def _change(staff_id: str, method: str, path: str, **options: Any) -> ApiProblem | None:
    """Change the member through identity-svc; the problem it answers with (a member it does not
    show this admin is not found here either; a failing service is an error page)."""
    try:
        call_api(method, f"/api/v1/staff/accounts/{staff_id}{path}", **options)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            abort(404)
        return problem
    return None


@blueprint.get("/<staff_id>", endpoint="member")
@staff_only(ADMIN)
def member(staff_id: str) -> ResponseReturnValue:
    return _show_member(_member(_staff_id(staff_id)))


@blueprint.route("/new", methods=["GET", "POST"], endpoint="new")
@staff_only(ADMIN)
def new() -> ResponseReturnValue:
    form = NewMemberForm()
    form.role.choices = _role_choices()
    if not form.validate_on_submit():
        return render_template("staff_accounts/new.html", form=form), (400 if form.is_submitted() else 200)
    body = {
        "email": (form.email.data or "").strip(),
        "name": (form.name.data or "").strip(),
        "language": form.language.data,
        "roles": [{"role": form.role.data, "unit": (form.unit.data or "").strip()}],
    }
    try:
        created = call_api(
            "POST", "/api/v1/staff/accounts", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 409:
            form.email.errors = [gettext("A member or citizen account already has this address.")]
        elif problem.status == 403:
            form.unit.errors = [gettext("You cannot grant this role in this unit.")]
        else:
            show_problem(form, problem, field_map={"roles.0.role": "role", "roles.0.unit": "unit"})
        return render_template("staff_accounts/new.html", form=form), 400
    flash(gettext("The account is created; the member is mailed an invitation to choose a password."), "success")
    return redirect(url_for("staff_accounts.member", staff_id=created["staff_id"]), 303)


@blueprint.post("/<staff_id>/roles", endpoint="grant")
@staff_only(ADMIN)
def grant(staff_id: str) -> ResponseReturnValue:
    staff_id = _staff_id(staff_id)
    form = GrantForm()
    form.role.choices = _role_choices()
    if not form.validate():
        return _show_member(_member(staff_id), grant=form, status=400)
    body = {"role": form.role.data, "unit": (form.unit.data or "").strip()}
    problem = _change(staff_id, "POST", "/roles", json=body)
    if problem is not None:
        if problem.status == 403:
            form.unit.errors = [gettext("You cannot grant this role in this unit.")]
        else:
            show_problem(form, problem)
        return _show_member(_member(staff_id), grant=form, status=400)
    flash(gettext("The role is granted."), "success")
    return redirect(url_for("staff_accounts.member", staff_id=staff_id), 303)


@blueprint.post("/<staff_id>/roles/revoke", endpoint="revoke")
@staff_only(ADMIN)
def revoke(staff_id: str) -> ResponseReturnValue:
    staff_id = _staff_id(staff_id)
    form = RevokeForm()
    if not form.validate():
        abort(400)
    problem = _change(staff_id, "DELETE", f"/roles/{quote(form.role.data, safe='')}/{quote(form.unit.data, safe='')}")
    if problem is not None:
        grant_form = GrantForm(formdata=None)
        grant_form.page_errors.append(
            gettext("You cannot revoke this role in this unit.") if problem.status == 403 else problem.detail
        )
        return _show_member(_member(staff_id), grant=grant_form, status=400)
    flash(gettext("The role is revoked."), "success")
    return redirect(url_for("staff_accounts.member", staff_id=staff_id), 303)


@blueprint.post("/<staff_id>/second-factor", endpoint="reset_second_factor")
@staff_only(ADMIN)
def reset_second_factor(staff_id: str) -> ResponseReturnValue:
    staff_id = _staff_id(staff_id)
    form = ResetForm()
    if not form.validate():
        return _show_member(_member(staff_id), reset=form, status=400)
    problem = _change(staff_id, "DELETE", "/second-factor")
    if problem is not None:
        if problem.status == 409:
            form.confirmed.errors = [gettext("You cannot reset your own second factor; ask another administrator.")]
        elif problem.status == 403:
            form.confirmed.errors = [gettext("You do not administer every unit where this member holds a role.")]
        else:
            show_problem(form, problem)
        return _show_member(_member(staff_id), reset=form, status=400)
    flash(
        gettext(
            "The second factor is reset: the member's sessions ended; they enrol a new authenticator at next sign-in."
        ),
        "success",
    )
    return redirect(url_for("staff_accounts.member", staff_id=staff_id), 303)
