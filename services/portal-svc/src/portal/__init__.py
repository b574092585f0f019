"""portal-svc: the citizens' web portal, pages over the public API (a back end for the front end).

Page areas are the modules of :mod:`portal.areas`; each has a ``blueprint`` and is registered
here without a list to edit (see the README: "Adding a page area").
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from mai_webkit import area_blueprints, create_site_app

from .config import Settings
from .navigation import install_site

__all__ = ["AREA_PACKAGE", "create_app"]

AREA_PACKAGE = "portal.areas"
HERE = Path(__file__).parent
#: One catalogue tree per page area: translations/<area>/<lang>/LC_MESSAGES/messages.po
TRANSLATIONS = HERE / "translations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = create_site_app(
        settings,
        import_name=__name__,
        translations=TRANSLATIONS,
        cookie_name="portal_session",
        site_name="MAI e-services",
        form_action=settings.form_action_origins,
    )
    install_site(app)
    for blueprint in area_blueprints(AREA_PACKAGE):
        app.register_blueprint(blueprint)
    return app
