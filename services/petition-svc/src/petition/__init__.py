"""petition-svc: petitions, opinions and suggestions, registered at once with a number."""

from __future__ import annotations

from flask import Flask
from mai_chassis import Database, TokenVerifier, create_service_app

from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    verifier = (
        TokenVerifier(jwks_url=settings.jwt_jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
        if settings.jwt_jwks_url
        else None
    )
    app = create_service_app(settings, import_name=__name__, database=database, token_verifier=verifier)
    return app
