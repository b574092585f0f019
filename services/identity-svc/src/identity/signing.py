"""Access-token signing keys: creation, rotation, the published JWKS, and signing.

Keys live in the database, private halves encrypted with ``IDENTITY_ENCRYPTION_KEYS``, so every
pod signs with the same key and a rotation needs no redeploy. The life of a key:

1. ``rotate-keys`` creates it: it is in the JWKS at once but signs only from ``signs_from`` (now
   + ``KEY_PUBLISH_LEAD_SECONDS``), by when every verifier's cached JWKS holds it;
2. the previous key stops signing at that moment (``signs_until``);
3. it stays in the JWKS until the last token it signed has expired (``unpublish_after``), then is
   dropped from the JWKS (and deleted by the next rotation).

RS256 (RSA 2048): every service verifies each request's token, and RSA verification is several
times faster than ECDSA's; signing happens once per login or refresh.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .secrets_at_rest import FieldCipher
from .tables import SigningKey

__all__ = ["ALGORITHM", "KeyRing", "NoSigningKeyError", "create_signing_key", "rotate_keys"]

ALGORITHM = "RS256"
_CACHE_SECONDS = 30.0


class NoSigningKeyError(RuntimeError):
    """No key may sign yet: run ``identity-svc rotate-keys`` (the first key signs at once)."""


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def create_signing_key(
    session: Session, cipher: FieldCipher, *, signs_from: datetime, purpose: str = "access"
) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:12]}"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid=kid, use="sig", alg=ALGORITHM)
    row = SigningKey(
        kid=kid,
        purpose=purpose,
        algorithm=ALGORITHM,
        public_jwk=json.dumps(jwk),
        private_sealed=cipher.seal(_private_pem(private)),
        created_at=datetime.now(UTC),
        signs_from=signs_from,
    )
    session.add(row)
    return row


def rotate_keys(
    session: Session, cipher: FieldCipher, *, publish_lead: timedelta, token_lifetime: timedelta, leeway: timedelta
) -> SigningKey:
    """Add a key that signs after ``publish_lead`` (at once if there is no key at all)."""
    now = datetime.now(UTC)
    current = list(session.scalars(select(SigningKey).where(SigningKey.purpose == "access")))
    session.execute(delete(SigningKey).where(SigningKey.purpose == "access", SigningKey.unpublish_after < now))
    live = [k for k in current if k.unpublish_after is None or _aware(k.unpublish_after) >= now]
    signs_from = now + publish_lead if live else now
    for key in live:
        if key.signs_until is None or _aware(key.signs_until) > signs_from:
            key.signs_until = signs_from
            key.unpublish_after = signs_from + token_lifetime + leeway
    return create_signing_key(session, cipher, signs_from=signs_from)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class KeyRing:
    """Reads the keys (cached briefly), publishes the JWKS and signs access tokens."""

    def __init__(self, session_factory: Any, cipher: FieldCipher, *, issuer: str, audience: str) -> None:
        self._sessions = session_factory
        self._cipher = cipher
        self.issuer, self.audience = issuer, audience
        self._loaded_at = -1e9
        self._rows: list[SigningKey] = []
        self._private: dict[str, Any] = {}

    def _keys(self) -> list[SigningKey]:
        if time.monotonic() - self._loaded_at > _CACHE_SECONDS:
            with self._sessions() as session:
                self._rows = list(
                    session.scalars(
                        select(SigningKey).where(SigningKey.purpose == "access").order_by(SigningKey.signs_from)
                    )
                )
            self._loaded_at = time.monotonic()
        return self._rows

    def refresh(self) -> None:
        self._loaded_at = -1e9

    def jwks(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "keys": [
                json.loads(k.public_jwk)
                for k in self._keys()
                if k.unpublish_after is None or _aware(k.unpublish_after) >= now
            ]
        }

    def _signing_key(self) -> SigningKey:
        now = datetime.now(UTC)
        usable = [
            k
            for k in self._keys()
            if _aware(k.signs_from) <= now and (k.signs_until is None or _aware(k.signs_until) > now)
        ]
        if not usable:
            self.refresh()
            raise NoSigningKeyError("no signing key is active; run `identity-svc rotate-keys`")
        return usable[-1]

    def sign(self, claims: dict[str, Any]) -> str:
        key = self._signing_key()
        private = self._private.get(key.kid)
        if private is None:
            loaded = serialization.load_pem_private_key(self._cipher.open(key.private_sealed).encode(), None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise NoSigningKeyError(f"signing key {key.kid} is not an RSA key")
            private = self._private[key.kid] = loaded
        return jwt.encode(claims, private, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"})
