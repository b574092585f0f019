"""What every portal page can use in its template: the navigation and whether someone is signed in."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext
from mai_webkit.auth import is_signed_in

__all__ = ["NAVIGATION", "install_site"]

#: The header's links (path, label), in order.
NAVIGATION = (
    ("/", lazy_gettext("Home")),
    ("/petitions", lazy_gettext("Petitions")),
    ("/certificates", lazy_gettext("Criminal record certificate")),
    ("/immigration", lazy_gettext("Immigration")),
    ("/institutions", lazy_gettext("Institutions")),
)


def install_site(app: Flask) -> None:
    @app.context_processor
    def _site() -> dict[str, Any]:
        return {"signed_in": is_signed_in, "portal_navigation": lambda: NAVIGATION}
