"""petition-svc: petitions, opinions and suggestions, registered at once with a number."""

from __future__ import annotations

from flask import Flask
from mai_chassis import Clock, Database, create_service_app

from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """The web app; ``clock``: the time every unit of work reads (the system's unless a test fixes it)."""
    from .api import blueprint
    from .deps import build_deps
    from .errors import PROBLEMS
    from .metrics import register_overdue_gauge, register_storage_gauge

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database, problems=PROBLEMS, clock=clock)
    deps = build_deps(settings)
    app.extensions["petition"] = deps
    app.register_blueprint(blueprint)
    register_overdue_gauge(settings.service_name, database)
    if deps.storage is not None:
        register_storage_gauge(settings.service_name, database, deps.storage, settings.attachment_storage_budget_bytes)
    return app
