"""notify-svc: e-mails citizens about the events they must hear about, and keeps delivery status."""

from __future__ import annotations

from flask import Flask
from mai_chassis import Clock, Database, create_service_app
from mai_chassis.openapi import serve_openapi

from .config import Settings
from .openapi import openapi_document

__all__ = ["create_app", "openapi_document"]


def create_app(
    settings: Settings | None = None, *, database: Database | None = None, clock: Clock | None = None
) -> Flask:
    """The web app; ``clock``: the time every unit of work reads (the system's unless a test fixes it)."""
    from .api import blueprint, internal
    from .deps import build_deps
    from .errors import PROBLEMS

    settings = settings or Settings.from_env()
    database = database or Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database, problems=PROBLEMS, clock=clock)
    app.extensions["notify"] = build_deps(settings)
    app.register_blueprint(blueprint)
    app.register_blueprint(internal)
    serve_openapi(app, openapi_document)
    return app
