"""What every console page can use in its template: the navigation the member's roles open."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from flask_babel import lazy_gettext
from mai_webkit.auth import is_signed_in

from .staff import (
    ADMIN,
    CERTIFICATE_CLERK,
    COUNTER_CLERK,
    IMMIGRATION_OFFICER,
    OFFICE_MANAGER,
    PETITION_CLERK,
    PHONE_OPERATOR,
    current_staff,
)

__all__ = ["TOOLS", "install_site", "tools_for_current_staff"]

#: (endpoint, label, the roles that open it), in the header's order.
TOOLS = (
    ("petitions.queue", lazy_gettext("Petitions"), (PETITION_CLERK,)),
    ("status_line.look_up", lazy_gettext("Status line"), (PHONE_OPERATOR, PETITION_CLERK)),
    ("documents.queue", lazy_gettext("Document review"), (IMMIGRATION_OFFICER,)),
    ("appointments.day", lazy_gettext("Appointments"), (IMMIGRATION_OFFICER,)),
    ("counter.look_up", lazy_gettext("Counter"), (COUNTER_CLERK,)),
    ("referrals.queue", lazy_gettext("Referrals"), (COUNTER_CLERK,)),
    ("certificates.find", lazy_gettext("Certificates"), (CERTIFICATE_CLERK,)),
    ("offices.index", lazy_gettext("Offices"), (OFFICE_MANAGER,)),
    ("notifications.search", lazy_gettext("Notifications"), (ADMIN,)),
    ("audit.trail", lazy_gettext("Audit trail"), (ADMIN,)),
    ("staff_accounts.index", lazy_gettext("Staff accounts"), (ADMIN,)),
)


def tools_for_current_staff() -> list[tuple[str, Any]]:
    """``(url, label)`` of each tool the signed-in member's roles open (none when signed out)."""
    if not is_signed_in():
        return []
    staff = current_staff()
    return [(url_for(endpoint), label) for endpoint, label, roles in TOOLS if staff.has(*roles)]


def install_site(app: Flask) -> None:
    @app.context_processor
    def _site() -> dict[str, Any]:
        return {"signed_in": is_signed_in, "console_navigation": tools_for_current_staff}
