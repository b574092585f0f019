"""Electronic-identification providers: one adapter each, behind one interface.

A provider is sent the citizen with a ``state`` (binds its answer to our attempt) and a ``nonce``
(must come back inside the signed answer). Its answer is a JWT signed with the provider's key;
we accept it only if the signature, issuer, audience (our client id), expiry, nonce and a never
seen ``jti`` all hold. The claims say who the bank (or eID app) identified: ``cnp``,
``family_name``, ``given_name``.

Adapters: ``bank_card_3ds`` (Ghiseul.ro's bank-card 3-D Secure route: public key from
configuration) and ``sandbox`` (simulates the bank-card step for development and tests, signing
with a key of its own kept in the database; refused by the settings in production).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .config import SANDBOX_ADAPTER, ProviderSettings
from .protection import FieldCipher
from .signing import create_signing_key
from .tables import SigningKey

__all__ = ["SANDBOX_ISSUER", "AnswerRefusedError", "IdentificationProvider", "IdentifiedPerson", "build_providers"]

SANDBOX_ISSUER = "https://sandbox.eid.invalid"
_ANSWER_ALGORITHMS = ["RS256", "ES256", "PS256"]
_MAX_ANSWER_LIFETIME = timedelta(minutes=10)


class AnswerRefusedError(ValueError):
    """The provider's answer is forged, expired, replayed or not for this attempt."""


@dataclass(frozen=True)
class IdentifiedPerson:
    jti: str
    cnp: str
    last_name: str
    first_name: str


class IdentificationProvider(Protocol):
    name: str
    assurance: str

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str) -> str: ...

    def read_answer(self, answer: str, *, nonce: str) -> IdentifiedPerson: ...


class SignedAnswerProvider:
    """A provider whose answer is a JWT signed with a public key we know (``bank_card_3ds``)."""

    def __init__(self, config: ProviderSettings) -> None:
        self.name = config.name
        self.assurance = config.assurance
        self.client_id = config.client_id
        self.issuer = config.issuer
        self.authorize_url = config.authorize_url
        self._public_key: Any = (
            serialization.load_pem_public_key(config.public_key_pem.encode()) if config.public_key_pem else None
        )

    def public_key(self) -> Any:
        return self._public_key

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "id_token",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "nonce": nonce,
            }
        )
        return f"{self.authorize_url}?{query}"

    def read_answer(self, answer: str, *, nonce: str) -> IdentifiedPerson:
        try:
            header = jwt.get_unverified_header(answer)
            if header.get("alg") not in _ANSWER_ALGORITHMS:
                raise AnswerRefusedError("algorithm not allowed")
            claims = jwt.decode(
                answer,
                self.public_key(),
                algorithms=_ANSWER_ALGORITHMS,
                audience=self.client_id,
                issuer=self.issuer,
                leeway=10,
                options={"require": ["exp", "iat", "jti", "nonce", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AnswerRefusedError(exc.__class__.__name__) from None
        if claims["exp"] - claims["iat"] > _MAX_ANSWER_LIFETIME.total_seconds():
            raise AnswerRefusedError("answer lives too long")
        if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
            raise AnswerRefusedError("nonce mismatch")
        try:
            return IdentifiedPerson(
                jti=str(claims["jti"]),
                cnp=str(claims["cnp"]),
                last_name=str(claims["family_name"]),
                first_name=str(claims["given_name"]),
            )
        except KeyError:
            raise AnswerRefusedError("identity claims missing") from None


class SandboxProvider(SignedAnswerProvider):
    """Simulates the bank-card step: ``/sandbox/eid/<name>/authorize`` signs answers with its key."""

    def __init__(self, config: ProviderSettings, *, public_base_url: str, session_factory: Any, cipher: FieldCipher):
        super().__init__(config)
        self.issuer = SANDBOX_ISSUER
        self.authorize_url = f"{public_base_url}/sandbox/eid/{config.name}/authorize"
        self._sessions = session_factory
        self._cipher = cipher
        self._key: tuple[str, Any, Any] | None = None

    def _load(self) -> tuple[str, Any, Any]:
        if self._key is None:
            purpose = f"eid-sandbox:{self.name}"[:32]
            with self._sessions() as session:
                row = session.scalars(select(SigningKey).where(SigningKey.purpose == purpose)).first()
                if row is None:
                    try:
                        row = create_signing_key(session, self._cipher, signs_from=datetime.now(UTC), purpose=purpose)
                        session.commit()
                    except IntegrityError:
                        session.rollback()
                        row = session.scalars(select(SigningKey).where(SigningKey.purpose == purpose)).one()
                private = serialization.load_pem_private_key(self._cipher.open(row.private_sealed).encode(), None)
                self._key = (row.kid, private, jwt.PyJWK(json.loads(row.public_jwk)).key)
        return self._key

    def public_key(self) -> Any:
        return self._load()[2]

    def sign_answer(self, *, nonce: str, cnp: str, last_name: str, first_name: str, lifetime: int = 300) -> str:
        kid, private, _public = self._load()
        now = datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": uuid.uuid4().hex,
            "nonce": nonce,
            "cnp": cnp,
            "family_name": last_name,
            "given_name": first_name,
        }
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def build_providers(
    configs: tuple[ProviderSettings, ...], *, public_base_url: str, session_factory: Any, cipher: FieldCipher
) -> dict[str, SignedAnswerProvider]:
    providers: dict[str, SignedAnswerProvider] = {}
    for config in configs:
        if config.adapter == SANDBOX_ADAPTER:
            providers[config.name] = SandboxProvider(
                config, public_base_url=public_base_url, session_factory=session_factory, cipher=cipher
            )
        else:
            providers[config.name] = SignedAnswerProvider(config)
    return providers
