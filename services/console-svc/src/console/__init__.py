"""console-svc: the staff console, pages over the public API called with the staff member's token.

Page areas are the modules of :mod:`console.areas`; each has a ``blueprint`` and is registered
here without a list to edit. What a staff member is offered follows the roles their access token
carries (:mod:`console.staff`); what they may do is decided by the API on every call.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from mai_webkit import area_blueprints, create_site_app
from mai_webkit.mounting import mount_under

from .config import Settings
from .documents import PageRenderer
from .site import install_site

__all__ = ["AREA_PACKAGE", "create_app"]

AREA_PACKAGE = "console.areas"
HERE = Path(__file__).parent
#: One catalogue tree per page area: translations/<area>/<lang>/LC_MESSAGES/messages.po
TRANSLATIONS = HERE / "translations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = create_site_app(
        settings,
        import_name=__name__,
        translations=TRANSLATIONS,
        cookie_name="console_session",
        site_name="MAI e-services — staff",
    )
    mount_under(app, settings.path_prefix)
    app.extensions["console_renderer"] = PageRenderer(
        pdftoppm=settings.pdftoppm_path,
        dpi=settings.render_dpi,
        max_pages=settings.render_max_pages,
        timeout=settings.render_timeout_seconds,
    )
    install_site(app)
    for blueprint in area_blueprints(AREA_PACKAGE):
        app.register_blueprint(blueprint)
    return app
