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
from mai_webkit import WebkitOptions, init_webkit
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
    init_webkit(
        app,
        WebkitOptions(
            api_base_url=settings.api_base_url,
            secret_key=settings.secret_key,
            catalogue_dirs=sorted(p for p in TRANSLATIONS.iterdir() if p.is_dir()),
            cookie_secure=settings.session_cookie_secure,
            cookie_name="portal_session",
            idle_timeout=timedelta(minutes=settings.session_idle_minutes),
            max_age=timedelta(hours=settings.session_max_hours),
            form_action=settings.form_action_origins,
            sign_in_endpoint="auth.sign_in",
            site_name="MAI e-services",
        ),
        database=database,
    )
    app.jinja_env.globals["layout_template"] = "layout.html"
    install_site(app)
    for blueprint in area_blueprints():
        app.register_blueprint(blueprint)
    return app


def area_blueprints() -> list[Blueprint]:
    """Every page area's blueprint: each module of ``portal.areas`` that defines ``blueprint``."""
    package = importlib.import_module(AREA_PACKAGE)
    blueprints = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{AREA_PACKAGE}.{module_info.name}")
        blueprint = getattr(module, "blueprint", None)
        if isinstance(blueprint, Blueprint):
            blueprints.append(blueprint)
    return blueprints
