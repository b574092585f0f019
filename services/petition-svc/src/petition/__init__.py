"""petition-svc: petitions, opinions and suggestions, registered at once with a number."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from mai_chassis import Database, create_service_app

from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    from .api import PetitionContext, blueprint
    from .attachments import AttachmentStore
    from .directory import load_directory
    from .metrics import register_overdue_gauge

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database)
    app.extensions["petition"] = PetitionContext(
        settings=settings,
        database=database,
        directory=load_directory(),
        store=AttachmentStore(Path(settings.attachments_dir)),
    )
    app.register_blueprint(blueprint)
    register_overdue_gauge(settings.service_name, database)
    return app
