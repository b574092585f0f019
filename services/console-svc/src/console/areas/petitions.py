"""Petition clerks: the institution's queue with its filters, a petition's page, and the clerk's actions
(assign, forward within 5 days, answer with a preview of what the petitioner receives, join, extend
with a reason, close). Attachments are handed over as downloads, never shown in the page."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from mai_webkit.api import ApiError, ApiProblem, public_json
from mai_webkit.auth import call_api
from mai_webkit.forms import PageForm, show_problem
from mai_webkit.i18n import localised
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..attachments import attachment_response
from ..staff import PETITION_CLERK, current_staff, staff_only

__all__ = ["CHANNEL_NAMES", "QUEUE_VIEWS", "blueprint", "clerk_units"]

logger = logging.getLogger(__name__)

blueprint = Blueprint("petitions", __name__, url_prefix="/petitions")

REGISTRATION_NUMBER = r"^[A-Za-z0-9]{2,12}-\d{4}-\d{6}$"
PAGE_SIZE = 25
#: The API lists at most this many per page: the views it cannot filter are taken from this many
#: of the most urgent open petitions (the queue is ordered by answer deadline).
SCAN_SIZE = 100
DUE_SOON_DAYS = 3
#: The queue's views: (key, label). "due-soon" and "forwarded-late" are filtered here (see SCAN_SIZE).
QUEUE_VIEWS = (
    ("new", lazy_gettext("New")),
    ("mine", lazy_gettext("Assigned to me")),
    ("due-soon", lazy_gettext("Due in 3 days")),
    ("overdue", lazy_gettext("Overdue")),
    ("forwarded-late", lazy_gettext("Forwarded late")),
    ("open", lazy_gettext("All open")),
    ("all", lazy_gettext("All")),
)
#: How a petition reached the institution (the online form, or intake by a clerk).
CHANNEL_NAMES = {
    "web": lazy_gettext("Online form"),
    "post": lazy_gettext("By post"),
    "email": lazy_gettext("By e-mail"),
    "counter": lazy_gettext("At the counter"),
}
STATUS_NAMES = {
    "registered": lazy_gettext("Registered"),
    "in_progress": lazy_gettext("In progress"),
    "answered": lazy_gettext("Answered"),
    "closed": lazy_gettext("Closed"),
}


class AssignForm(PageForm):
    assignee = SelectField(lazy_gettext("Assign to"), validators=[Optional()])


class ForwardForm(PageForm):
    to_institution = SelectField(
        lazy_gettext("Competent institution"), validators=[DataRequired(lazy_gettext("Choose the institution"))]
    )


class AnswerForm(PageForm):
    text = TextAreaField(
        lazy_gettext("Answer"),
        validators=[
            DataRequired(lazy_gettext("Write the answer")),
            Length(max=20000, message=lazy_gettext("The answer must be at most 20,000 characters")),
        ],
    )


class JoinForm(PageForm):
    numbers = TextAreaField(
        lazy_gettext("Registration numbers of the petitions to answer together with this one, one a line"),
        validators=[DataRequired(lazy_gettext("Enter at least one registration number"))],
    )


class ExtendForm(PageForm):
    days = IntegerField(
        lazy_gettext("Days (1 to 15)"),
        validators=[
            InputRequired(lazy_gettext("Enter the number of days")),
            NumberRange(min=1, max=15, message=lazy_gettext("Enter a number of days from 1 to 15")),
        ],
    )
    reason = TextAreaField(
        lazy_gettext("Reason (the petitioner is told)"),
        validators=[
            DataRequired(lazy_gettext("Give the reason for the extension")),
            Length(min=5, max=1000, message=lazy_gettext("The reason must be 5 to 1,000 characters")),
        ],
    )


class CloseForm(PageForm):
    outcome = RadioField(
        lazy_gettext("Why is it closed without an answer?"),
        choices=[
            SelectChoice("repeat", lazy_gettext("It repeats a petition already answered")),
            SelectChoice("withdrawn", lazy_gettext("The petitioner withdrew it")),
            SelectChoice("noted", lazy_gettext("Noted (an opinion or suggestion)")),
        ],
        validators=[InputRequired(lazy_gettext("Choose why it is closed"))],
    )
    repeat_of = StringField(
        lazy_gettext("The answered petition it repeats (registration number)"),
        validators=[
            Optional(),
            Regexp(REGISTRATION_NUMBER, message=lazy_gettext("Enter a number like IGPR-2026-000123")),
        ],
    )


# --- colleagues by name ---------------------------------------------------------------------------


def _colleagues(institution: str) -> dict[str, str]:
    """``{staff id: name}`` of the institution's petition clerks (identity-svc's staff directory), by
    name; empty when the directory cannot be read (the page then offers to take the petition oneself)."""
    try:
        answer = call_api("GET", "/api/v1/staff/members", params={"unit": institution, "role": PETITION_CLERK})
    except ApiError as error:
        logger.warning("staff directory of %s not read: %s", institution, error.__class__.__name__)
        return {}
    members = answer.json()["members"]
    names = [m["name"] for m in members]
    # Two colleagues of the same name are told apart by the end of their account id.
    return {
        m["staff_id"]: m["name"] if names.count(m["name"]) == 1 else f"{m['name']} (…{m['staff_id'][-4:]})"
        for m in members
    }


def _assignee_choices(colleagues: dict[str, str]) -> list[SelectChoice]:
    me = current_staff().subject
    choices = [SelectChoice("", gettext("Me"))]
    choices += [SelectChoice(staff_id, name) for staff_id, name in colleagues.items() if staff_id != me]
    return choices


# --- the queue ------------------------------------------------------------------------------------


def clerk_units() -> list[str]:
    """The institutions whose petitions the signed-in clerk works (a clerk of every unit: all of them)."""
    units = current_staff().units_for(PETITION_CLERK)
    if "*" in units:  # a clerk of every unit chooses among all institutions
        return [item["code"] for item in public_json("/api/v1/institutions")["items"]]
    return units


def _queue_query(view: str, institution: str, page: int) -> tuple[dict[str, Any], bool]:
    """The API's query for a view, and whether the view is then filtered here."""
    query: dict[str, Any] = {"institution": institution, "page": page, "page_size": PAGE_SIZE}
    if view == "new":
        query["status"] = "registered"
    elif view == "mine":
        query["assignee"] = current_staff().subject
    elif view == "overdue":
        query["overdue"] = "true"
    elif view in ("due-soon", "forwarded-late", "open"):
        if view != "open":
            query.update(page=1, page_size=SCAN_SIZE)
        return query, view != "open"
    return query, False


def _is_open(item: dict[str, Any]) -> bool:
    return item.get("status") in ("registered", "in_progress")


def _filtered(view: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if view == "due-soon":
        limit = date.today() + timedelta(days=DUE_SOON_DAYS)
        return [
            i for i in items if _is_open(i) and not i.get("overdue") and date.fromisoformat(i["answer_due_on"]) <= limit
        ]
    if view == "forwarded-late":
        return [i for i in items if i.get("forwarded_late")]
    if view == "open":
        return [i for i in items if _is_open(i)]
    return items


@blueprint.get("", endpoint="queue")
@staff_only(PETITION_CLERK)
def queue() -> ResponseReturnValue:
    units = clerk_units()
    institution = request.args.get("institution") or (units[0] if units else "")
    if institution not in units:
        abort(404)
    view = request.args.get("view", "new")
    if view not in dict(QUEUE_VIEWS):
        view = "new"
    try:
        page = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    query, filtered_here = _queue_query(view, institution, page)
    answer = call_api("GET", "/api/v1/petitions", params=query).json()
    items = _filtered(view, answer["items"])
    total = len(items) if filtered_here else answer["total"]
    pages = 1 if filtered_here else max(1, -(-answer["total"] // PAGE_SIZE))
    return render_template(
        "petitions/queue.html",
        items=items,
        total=total,
        page=page,
        pages=pages,
        view=view,
        views=QUEUE_VIEWS,
        institution=institution,
        units=units,
        filtered_here=filtered_here,
        scan_size=SCAN_SIZE,
        status_names=STATUS_NAMES,
        names=_colleagues(institution) if any(i.get("assignee") for i in items) else {},
    )


# --- one petition ---------------------------------------------------------------------------------


def _institution_choices(current: str) -> list[SelectChoice]:
    items = public_json("/api/v1/institutions")["items"]
    choices = [SelectChoice("", gettext("Choose an institution"))]
    choices += [SelectChoice(i["code"], f"{localised(i['name'])} ({i['code']})") for i in items if i["code"] != current]
    return choices


def _forms(petition: dict[str, Any], colleagues: dict[str, str], **given: PageForm) -> dict[str, PageForm]:
    forms: dict[str, PageForm] = {
        "assign": given.get("assign") or AssignForm(formdata=None),
        "forward": given.get("forward") or ForwardForm(formdata=None),
        "answer": given.get("answer") or AnswerForm(formdata=None),
        "join": given.get("join") or JoinForm(formdata=None),
        "extend": given.get("extend") or ExtendForm(formdata=None),
        "close": given.get("close") or CloseForm(formdata=None),
    }
    forms["forward"].to_institution.choices = _institution_choices(petition["institution"]["code"])  # type: ignore[attr-defined]
    forms["assign"].assignee.choices = _assignee_choices(colleagues)  # type: ignore[attr-defined]
    return forms


def _petition(number: str) -> dict[str, Any]:
    try:
        return dict(call_api("GET", f"/api/v1/petitions/{quote(number, safe='')}").json())
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise


def _show(petition: dict[str, Any], status: int = 200, **forms: PageForm) -> ResponseReturnValue:
    today = date.today()
    forward_due = date.fromisoformat(petition["forward_due_on"]) if petition.get("forward_due_on") else None
    colleagues = _colleagues(petition["institution"]["code"]) if _is_open(petition) or petition.get("assignee") else {}
    return (
        render_template(
            "petitions/petition.html",
            petition=petition,
            forms=_forms(petition, colleagues, **forms),
            assignee_name=colleagues.get(petition.get("assignee") or "", petition.get("assignee")),
            status_names=STATUS_NAMES,
            channel_names=CHANNEL_NAMES,
            is_open=_is_open(petition),
            forward_due=forward_due,
            forward_days_left=(forward_due - today).days if forward_due else None,
            me=current_staff().subject,
        ),
        status,
    )


@blueprint.get("/<number>", endpoint="petition")
@staff_only(PETITION_CLERK)
def petition_page(number: str) -> ResponseReturnValue:
    return _show(_petition(number))


@blueprint.get("/<number>/attachments/<int:position>", endpoint="attachment")
@staff_only(PETITION_CLERK)
def attachment(number: str, position: int) -> Response:
    petition = _petition(number)
    item = next((a for a in petition.get("attachments", []) if a["position"] == position), None)
    if item is None:
        abort(404)
    try:
        download = call_api("GET", f"/api/v1/petitions/{quote(number, safe='')}/attachments/{position}")
    except ApiProblem as problem:
        if problem.status in (403, 404):
            abort(404)
        raise
    return attachment_response(
        download.content,
        media_type=item["media_type"],
        file_name=f"{petition['registration_number']}-{position}-{item.get('name') or 'attachment'}",
    )


def _act(number: str, path: str, body: dict[str, Any], form: PageForm, name: str, done: str) -> ResponseReturnValue:
    try:
        call_api("POST", f"/api/v1/petitions/{quote(number, safe='')}/{path}", json=body)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404:
            abort(404)
        show_problem(form, problem)
        return _show(_petition(number), 400 if problem.status < 500 else 502, **{name: form})
    flash(done, "success")
    return redirect(url_for("petitions.petition", number=number), code=303)


@blueprint.post("/<number>/assign", endpoint="assign")
@staff_only(PETITION_CLERK)
def assign(number: str) -> ResponseReturnValue:
    petition = _petition(number)
    form = AssignForm()
    form.assignee.choices = _assignee_choices(_colleagues(petition["institution"]["code"]))
    if not form.validate():
        return _show(petition, 400, assign=form)
    body = {"assignee": form.assignee.data or None}
    return _act(number, "assignment", body, form, "assign", gettext("The petition is assigned."))


@blueprint.post("/<number>/forward", endpoint="forward")
@staff_only(PETITION_CLERK)
def forward(number: str) -> ResponseReturnValue:
    petition = _petition(number)
    form = ForwardForm()
    form.to_institution.choices = _institution_choices(petition["institution"]["code"])
    if not form.validate():
        return _show(petition, 400, forward=form)
    return _act(
        number,
        "forwarding",
        {"to_institution": form.to_institution.data},
        form,
        "forward",
        gettext("The petition is forwarded; the petitioner is told by e-mail."),
    )


@blueprint.post("/<number>/answer", endpoint="answer")
@staff_only(PETITION_CLERK)
def answer(number: str) -> ResponseReturnValue:
    form = AnswerForm()
    petition = _petition(number)
    if not form.validate():
        return _show(petition, 400, answer=form)
    if request.form.get("step") == "edit":
        return _show(petition, 200, answer=form)
    if request.form.get("step") != "send":
        # First the preview: the text as the petitioner will receive it, and a button to send it.
        return render_template("petitions/answer_preview.html", petition=petition, form=form)
    return _act(
        number,
        "answer",
        {"text": form.text.data},
        form,
        "answer",
        gettext("The answer is sent; the petitioner receives it by e-mail."),
    )


@blueprint.post("/<number>/join", endpoint="join")
@staff_only(PETITION_CLERK)
def join(number: str) -> ResponseReturnValue:
    form = JoinForm()
    if not form.validate():
        return _show(_petition(number), 400, join=form)
    numbers = [n.strip().upper() for n in (form.numbers.data or "").replace(",", "\n").splitlines() if n.strip()]
    return _act(
        number,
        "joined-petitions",
        {"registration_numbers": numbers},
        form,
        "join",
        gettext("The petitions are joined: one answer will cover them all."),
    )


@blueprint.post("/<number>/extend", endpoint="extend")
@staff_only(PETITION_CLERK)
def extend(number: str) -> ResponseReturnValue:
    form = ExtendForm()
    if not form.validate():
        return _show(_petition(number), 400, extend=form)
    return _act(
        number,
        "deadline-extension",
        {"days": form.days.data, "reason": (form.reason.data or "").strip()},
        form,
        "extend",
        gettext("The answer deadline is extended."),
    )


@blueprint.post("/<number>/close", endpoint="close")
@staff_only(PETITION_CLERK)
def close(number: str) -> ResponseReturnValue:
    form = CloseForm()
    if not form.validate():
        return _show(_petition(number), 400, close=form)
    if form.outcome.data == "repeat" and not form.repeat_of.data:
        form.repeat_of.errors = [gettext("Enter the number of the answered petition it repeats")]
        return _show(_petition(number), 400, close=form)
    body: dict[str, Any] = {"outcome": form.outcome.data}
    if form.outcome.data == "repeat":
        body["repeat_of"] = (form.repeat_of.data or "").strip().upper()
    return _act(number, "closure", body, form, "close", gettext("The petition is closed."))
