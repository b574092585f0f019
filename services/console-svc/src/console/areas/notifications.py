"""Administrators: send a notification again (notify-svc's resend, by the notification's id)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import StringField
from wtforms.validators import DataRequired, Regexp

from ..staff import ADMIN, staff_only

__all__ = ["blueprint"]

blueprint = Blueprint("notifications", __name__, url_prefix="/notifications")

UUID_PATTERN = r"^\s*[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\s*$"


class ResendForm(PageForm):
    notification_id = StringField(
        lazy_gettext("Notification id"),
        validators=[
            DataRequired(lazy_gettext("Enter the notification's id")),
            Regexp(UUID_PATTERN, message=lazy_gettext("Enter an id like 3f2b8c1e-0d4a-4e7b-9c55-1a2b3c4d5e6f")),
        ],
    )


@blueprint.route("", methods=["GET", "POST"], endpoint="resend")
@staff_only(ADMIN)
def resend() -> ResponseReturnValue:
    form = ResendForm()
    sent: dict[str, Any] | None = None
    if form.validate_on_submit():
        notification_id = str(uuid.UUID((form.notification_id.data or "").strip()))
        try:
            sent = call_api(
                "POST",
                f"/api/v1/notifications/{notification_id}/resend",
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ).json()
        except ApiProblem as problem:
            if problem.status >= 500:
                raise
            if problem.status == 404:
                form.notification_id.errors = [gettext("There is no notification with this id.")]
            elif problem.status == 403:
                form.notification_id.errors = [gettext("It was sent for a unit you do not administer.")]
            else:
                show_problem(form, problem)
            return render_template("notifications/resend.html", form=form, sent=None), 400
    status = 400 if form.is_submitted() and sent is None else 200
    return render_template("notifications/resend.html", form=form, sent=sent), status
