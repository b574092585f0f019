"""The signed-in citizen's e-mails: what we sent, when, to which address, and whether it arrived."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from mai_webkit.auth import call_api, login_required

from .immigration_views import local_datetime

__all__ = ["DELIVERY_STATUSES", "PER_PAGE", "blueprint"]

blueprint = Blueprint("notifications", __name__)

PER_PAGE = 20
#: notify-svc's delivery statuses, as a citizen reads them.
DELIVERY_STATUSES = {
    "created": (lazy_gettext("Waiting to be sent"), "grey"),
    "sending": (lazy_gettext("Being sent"), "blue"),
    "delivered": (lazy_gettext("Delivered"), "green"),
    "temporary-failure": (lazy_gettext("Not delivered yet: we will try again"), "yellow"),
    "permanent-failure": (lazy_gettext("Could not be delivered"), "red"),
}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 10_000 else 1


@blueprint.get("/notifications")
@login_required
def list_notifications() -> ResponseReturnValue:
    page = _page_number()
    answer: dict[str, Any] = call_api(
        "GET", "/api/v1/notifications", params={"page": page, "per_page": PER_PAGE}
    ).json()
    items = [
        {
            "subject": item["subject"],
            "sent_to": item["sent_to"],
            "created_at": local_datetime(item["created_at"]),
            "status": DELIVERY_STATUSES.get(item["status"], (item["status"], "grey")),
        }
        for item in answer["items"]
    ]
    last_page = max(1, -(-int(answer["total"]) // PER_PAGE))
    return render_template(
        "notifications/list.html",
        items=items,
        page=page,
        last_page=last_page,
        total=answer["total"],
    )
