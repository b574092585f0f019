"""portal-svc: the citizens' web portal, pages over the public API (a back end for the front end).

Page areas are the modules of :mod:`portal.areas`; each has a ``blueprint`` and is registered
here without a list to edit (see the README: "Adding a page area").
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Flask
from mai_chassis import Database, create_service_app
from mai_webkit import area_blueprints, init_webkit, site_options
from mai_webkit.mounting import trust_forwarded_host

from .config import Settings
from .navigation import install_site

__all__ = ["AREA_PACKAGE", "create_app"]

AREA_PACKAGE = "portal.areas"
HERE = Path(__file__).parent
#: One catalogue tree per page area: translations/<area>/<lang>/LC_MESSAGES/messages.po
TRANSLATIONS = HERE / "translations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database, token_verifier=None)
    trust_forwarded_host(app, settings.trusted_proxy_hops)
    options = site_options(
        settings,
        translations=TRANSLATIONS,
        cookie_name="portal_session",
        site_name="MAI e-services",
        form_action=settings.form_action_origins,
    )
    init_webkit(app, options, database=database)
    app.jinja_env.globals["layout_template"] = "layout.html"
    install_site(app)
    for blueprint in area_blueprints(AREA_PACKAGE):
        app.register_blueprint(blueprint)
    return app
