"""Administrators: find the notifications sent to an address or about a case (notify-svc's search),
see how each delivery went, and send one again (notify-svc's resend).

The address is personal data: it travels only in POST bodies (the form's, and the API call's),
never in an address or a log line, and is not kept in the session. A resend carries the search
back in hidden fields, so the page it answers with shows the same results, and an idempotency key
made when the results were shown, so that sending the form twice resends once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiProblem
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from wtforms import EmailField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from ..staff import ADMIN, staff_only

__all__ = ["UUID_PATTERN", "blueprint"]

blueprint = Blueprint("notifications", __name__, url_prefix="/notifications")

UUID_PATTERN = r"^\s*[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\s*$"
REFERENCE_PATTERN = r"^\s*[A-Za-z0-9._-]{1,200}\s*$"
PER_PAGE = 20

STATUS_NAMES = {
    "created": lazy_gettext("Waiting to be sent"),
    "sending": lazy_gettext("Being sent"),
    "delivered": lazy_gettext("Delivered"),
    "temporary-failure": lazy_gettext("Failed, will be retried"),
    "permanent-failure": lazy_gettext("Failed"),
    "suppressed": lazy_gettext("Not sent (too many mails to this address)"),
}
#: A delivery that has finished may be sent again; one under way may not (notify-svc answers 409).
FINISHED = {"delivered", "permanent-failure", "suppressed"}


class SearchForm(PageForm):
    recipient = EmailField(
        lazy_gettext("Recipient's e-mail address"),
        validators=[Optional(), Email(lazy_gettext("Enter an e-mail address like name@example.com"))],
    )
    reference = StringField(
        lazy_gettext("Or a reference"),
        validators=[
            Optional(),
            Regexp(
                REFERENCE_PATTERN,
                message=lazy_gettext("Enter a registration number like IGPR-2026-000123, or an id"),
            ),
        ],
    )
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=10_000)])


class ResendForm(PageForm):
    notification_id = StringField(
        lazy_gettext("Notification id"),
        validators=[
            DataRequired(lazy_gettext("Enter the notification's id")),
            Regexp(UUID_PATTERN, message=lazy_gettext("Enter an id like 3f2b8c1e-0d4a-4e7b-9c55-1a2b3c4d5e6f")),
        ],
    )
    #: The search the results came from (shown again after the resend), and the request's key.
    recipient = HiddenField(validators=[Optional(), Length(max=254)])
    reference = HiddenField(validators=[Optional(), Regexp(REFERENCE_PATTERN)])
    page = HiddenField(validators=[Optional(), Regexp(r"^\d{1,5}$")])
    idempotency_key = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])


def _criteria(recipient: str | None, reference: str | None) -> dict[str, str]:
    given = {"recipient": (recipient or "").strip(), "reference": (reference or "").strip()}
    return {name: value for name, value in given.items() if value}


def _search(form: SearchForm, criteria: dict[str, str], page: int) -> dict[str, Any] | None:
    """notify-svc's page of matches, or None with the problem shown beside the fields."""
    try:
        return call_api(  # type: ignore[no-any-return]
            "POST", "/api/v1/notifications/searches", json={**criteria, "page": page, "per_page": PER_PAGE}
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        show_problem(form, problem)
        return None


def _page(
    search: SearchForm,
    resend: ResendForm,
    found: dict[str, Any] | None,
    criteria: dict[str, str],
    sent: dict[str, Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "notifications/search.html",
            search=search,
            resend=resend,
            found=found,
            criteria=criteria,
            sent=sent,
            status_names=STATUS_NAMES,
            finished=FINISHED,
            idempotency_key=uuid.uuid4().hex,
        ),
        status,
    )


@blueprint.route("", methods=["GET", "POST"], endpoint="search")
@staff_only(ADMIN)
def search() -> ResponseReturnValue:
    form = SearchForm()
    resend = ResendForm(formdata=None)
    if not form.is_submitted():
        return _page(form, resend, None, {})
    criteria = _criteria(form.recipient.data, form.reference.data)
    if form.validate() and len(criteria) != 1:
        form.recipient.errors = [gettext("Enter the recipient's e-mail address or a reference")]
    if form.errors:
        return _page(form, resend, None, {}, status=400)
    found = _search(form, criteria, form.page.data or 1)
    return _page(form, resend, found, criteria, status=200 if found is not None else 400)


@blueprint.post("/resend", endpoint="resend")
@staff_only(ADMIN)
def resend() -> ResponseReturnValue:
    form = ResendForm()
    criteria = _criteria(form.recipient.data, form.reference.data)
    page = int(form.page.data) if (form.page.data or "").isdigit() else 1
    search_form = SearchForm(formdata=None, page=page, **criteria)
    if not form.validate():
        return _page(search_form, form, None, {}, status=400)
    notification_id = str(uuid.UUID((form.notification_id.data or "").strip()))
    try:
        sent = call_api(
            "POST",
            f"/api/v1/notifications/{notification_id}/resend",
            headers={"Idempotency-Key": form.idempotency_key.data or uuid.uuid4().hex},
        ).json()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            form.notification_id.errors = [gettext("There is no notification with this id.")]
        elif problem.status == 403:
            form.notification_id.errors = [gettext("It was sent for a unit you do not administer.")]
        elif problem.status == 409:
            form.notification_id.errors = [gettext("It is being sent now; send it again once this delivery ends.")]
        else:
            show_problem(form, problem)
        found = _search(search_form, criteria, page) if criteria else None
        return _page(search_form, form, found, criteria, status=400)
    found = _search(search_form, criteria, page) if criteria else None
    return _page(search_form, ResendForm(formdata=None), found, criteria, sent=sent)
