"""The console's start page: who is signed in, with which roles, and the tools those open."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from ..site import tools_for_current_staff
from ..staff import current_staff, staff_only

__all__ = ["ROLE_NAMES", "blueprint"]

blueprint = Blueprint("home", __name__)

ROLE_NAMES = {
    "petition_clerk": lazy_gettext("Petition clerk"),
    "phone_operator": lazy_gettext("Status line operator"),
    "counter_clerk": lazy_gettext("Counter officer"),
    "immigration_officer": lazy_gettext("Immigration officer"),
    "certificate_clerk": lazy_gettext("Certificate clerk"),
    "office_manager": lazy_gettext("Office manager"),
    "admin": lazy_gettext("Administrator"),
}


@blueprint.get("/", endpoint="index")
@staff_only()
def index() -> ResponseReturnValue:
    staff = current_staff()
    roles = sorted(staff.roles)
    return render_template("home/index.html", roles=roles, role_names=ROLE_NAMES, tools=tools_for_current_staff())
