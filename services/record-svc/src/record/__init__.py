"""record-svc: criminal-record certificates, issued at once as signed PDFs, verifiable by anyone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from mai_chassis import Database, TokenVerifier, create_service_app
from mai_chassis.web import verifier_from_settings

from .config import Settings

if TYPE_CHECKING:
    from mai_chassis.clock import Clock

    from .civil_status import CivilStatusSource
    from .registry import CriminalRegistry

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    civil_status: CivilStatusSource | None = None,
    registry: CriminalRegistry | None = None,
    token_verifier: TokenVerifier | None = None,
) -> Flask:
    """The web app; tests pass their own clock or adapters, production builds them from settings."""
    from mai_chassis.openapi import serve_openapi

    from .api import certificates, internal
    from .deps import build_deps
    from .errors import PROBLEMS
    from .openapi import openapi_document
    from .staff_api import staff

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    verifier = token_verifier or verifier_from_settings(settings)
    app = create_service_app(
        settings, import_name=__name__, database=database, token_verifier=verifier, problems=PROBLEMS, clock=clock
    )
    app.extensions["record_deps"] = build_deps(settings, database, civil_status=civil_status, registry=registry)
    app.register_blueprint(certificates)
    app.register_blueprint(internal)
    app.register_blueprint(staff)

    serve_openapi(app, openapi_document)

    return app
