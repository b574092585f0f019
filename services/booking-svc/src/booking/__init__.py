"""booking-svc: immigration applications, document review, counter appointments and pickup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from mai_chassis import Database, create_service_app

from .config import Settings

if TYPE_CHECKING:
    from mai_chassis.clock import Clock

    from .documents import DocumentStore

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    store: DocumentStore | None = None,
    clock: Clock | None = None,
) -> Flask:
    from mai_chassis.openapi import serve_openapi

    from .api import BLUEPRINTS
    from .deps import booking_deps
    from .errors import PROBLEMS
    from .openapi import openapi_document

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database, problems=PROBLEMS, clock=clock)
    app.extensions["booking"] = booking_deps(settings, store=store)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    serve_openapi(app, openapi_document)

    return app
