"""identity-svc: citizen and staff accounts, identity verification, civil status and token signing."""

from __future__ import annotations

from typing import Any

import jwt
from flask import Flask, jsonify
from mai_chassis import Database, InvalidToken, TokenVerifier, create_service_app
from mai_chassis.challenges import verifier_for
from mai_chassis.sealing import Sealer

from .config import Settings
from .eid import build_providers
from .handlers import Runtime
from .protection import FieldCipher, MailCodeHasher, SecretHasher
from .signing import KeyRing

__all__ = ["build_runtime", "create_app"]


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


def build_runtime(settings: Settings, database: Database) -> Runtime:
    cipher = FieldCipher(settings.encryption_keys)
    keys = KeyRing(database.session, cipher, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return Runtime(
        settings=settings,
        hasher=SecretHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        code_hasher=MailCodeHasher.derived_from(settings.encryption_keys),
        cipher=cipher,
        sealer=Sealer(list(settings.sealing_keys)),
        keys=keys,
        providers=build_providers(settings.eid_providers),
        challenge=verifier_for(settings.form_challenge, settings.form_challenge_key, bits=settings.proof_of_work_bits),
    )


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    runtime = build_runtime(settings, database)
    verifier = OwnKeysVerifier(runtime.keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    app = create_service_app(settings, import_name=__name__, database=database, token_verifier=verifier)
    app.extensions["identity_runtime"] = runtime

    from . import api
    from .openapi import openapi_document
    from .units import counter_units

    for blueprint in (api.accounts, api.auth, api.identity, api.staff, api.internal, api.well_known):
        app.register_blueprint(blueprint)
    app.register_blueprint(counter_units)

    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(openapi_document())

    return app
