"""identity-svc: citizen and staff accounts, identity verification, civil status and token signing."""

from __future__ import annotations

from typing import Any

import jwt
from flask import Flask
from mai_chassis import Clock, Database, InvalidToken, TokenVerifier, create_service_app

from .config import Settings
from .deps import build_deps
from .errors import PROBLEMS
from .signing import KeyRing

__all__ = ["create_app"]


class OwnKeysVerifier(TokenVerifier):
    """identity-svc verifies the tokens it signed with its own key ring (no HTTP to itself)."""

    def __init__(self, keys: KeyRing, *, issuer: str, audience: str) -> None:
        # The URL is never fetched: _key_for reads the key ring instead.
        super().__init__(issuer=issuer, audience=audience, jwks_url="http://127.0.0.1/unused-own-key-ring")
        self._keys = keys

    def _key_for(self, token: str) -> Any:
        published = self._keys.jwks()
        try:
            self._static = jwt.PyJWKSet.from_dict(published) if published["keys"] else None
        except jwt.PyJWTError:
            self._static = None
        if self._static is None:
            raise InvalidToken("unknown key id")
        return super()._key_for(token)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """The web app; ``clock`` is every unit of work's clock (the system clock unless a test fixes one)."""
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    deps = build_deps(settings, database)
    verifier = OwnKeysVerifier(deps.keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    app = create_service_app(
        settings, import_name=__name__, database=database, token_verifier=verifier, problems=PROBLEMS, clock=clock
    )
    app.extensions["identity_deps"] = deps

    from mai_chassis.openapi import serve_openapi

    from . import api, staff_administration_api
    from .openapi import openapi_document
    from .units import counter_units

    for blueprint in (api.accounts, api.auth, api.identity, api.staff, api.internal, api.well_known):
        app.register_blueprint(blueprint)
    app.register_blueprint(counter_units)
    app.register_blueprint(staff_administration_api.blueprint)

    serve_openapi(app, openapi_document)

    return app
