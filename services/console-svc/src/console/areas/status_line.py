"""Status line operators (the phone line): a petition's status from its registration number alone."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm
from wtforms import StringField
from wtforms.validators import DataRequired, Regexp

from ..staff import PETITION_CLERK, PHONE_OPERATOR, staff_only
from .petitions import REGISTRATION_NUMBER, STATUS_NAMES

__all__ = ["blueprint"]

blueprint = Blueprint("status_line", __name__, url_prefix="/status-line")


class LookupForm(PageForm):
    class Meta:
        csrf = False  # a read-only lookup sent by GET

    number = StringField(
        lazy_gettext("Registration number"),
        validators=[
            DataRequired(lazy_gettext("Enter the registration number the caller reads out")),
            Regexp(REGISTRATION_NUMBER, message=lazy_gettext("Enter a number like IGPR-2026-000123")),
        ],
    )


@blueprint.get("", endpoint="look_up")
@staff_only(PHONE_OPERATOR, PETITION_CLERK)
def look_up() -> ResponseReturnValue:
    form = LookupForm(request.args)
    petition: dict[str, Any] | None = None
    if "number" not in request.args:
        return render_template("status_line/look_up.html", form=form, petition=None, status_names=STATUS_NAMES)
    if form.validate():
        number = (form.number.data or "").strip().upper()
        try:
            petition = call_api("GET", f"/api/v1/petitions/{quote(number, safe='')}/status").json()
        except ApiProblem as problem:
            if problem.status == 404:
                form.number.errors = [gettext("No petition has this number. Ask the caller to read it again.")]
            elif problem.status == 403:
                form.number.errors = [gettext("This petition is another institution's: the caller should ask them.")]
            else:
                raise
    status = 200 if petition is not None else 400
    return render_template("status_line/look_up.html", form=form, petition=petition, status_names=STATUS_NAMES), status
