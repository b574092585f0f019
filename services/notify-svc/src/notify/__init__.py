"""notify-svc: e-mails citizens about the events they must hear about, and keeps delivery status."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, Response, jsonify
from mai_chassis import Clock, Database, create_service_app

from .config import Settings

__all__ = ["create_app", "openapi_document"]


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this service's API (the gateway merges it)."""
    loaded: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text(encoding="utf-8"))
    return loaded


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

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    return app
