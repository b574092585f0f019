"""Electronic identification through OpenID Connect providers: identity-svc as a relying party.

Romanian eID routes (ROeID, the electronic identity card brokers, the bank-card route of
Ghiseul.ro) are reached as standard OpenID Connect providers, one :class:`OpenIdProvider` each,
configured in :mod:`identity.config`. The flow is the authorization code flow with PKCE:

1. :meth:`OpenIdProvider.authorization_url` sends the citizen to the provider with our client id,
   one of the configured redirect URIs, ``state`` (names our attempt), ``nonce`` (must come back
   inside the ID token) and the S256 challenge of a fresh ``code_verifier``. The handlers keep the
   state's digest, the nonce and the sealed verifier with the account that started the attempt.
2. The provider sends the browser back to the redirect URI (the portal) with ``code`` and
   ``state``; the portal hands both to identity-svc with the citizen's own token.
3. :meth:`OpenIdProvider.identify` exchanges the code at the token endpoint (client secret and
   ``code_verifier``), then checks the ID token: signature against the provider's JWKS, ``iss``,
   ``aud`` (and ``azp``), ``exp``, ``iat``, ``nonce``. The claims are mapped per provider (a CNP
   claim or a pseudonymous ``sub``, names, birth date), and ``acr`` gives the assurance level; a
   level below the provider's minimum is refused.

Authlib builds the authorization request and performs the code exchange; joserfc (Authlib's JOSE
library) verifies the ID token. The provider's metadata (discovery) and keys are cached per
process, and the last good ones are kept while the provider cannot be reached; an ID token signed
with a key we do not know refetches the key set, at most once a minute.

Errors: :class:`ProviderUnavailable` (the provider cannot be reached or answers nonsense: try
again later), :class:`IdentificationRefused` (the code, the token or its claims cannot be
accepted) and its subclass :class:`AssuranceTooLow`. Their messages are short reasons for logs:
never a code, a token or a claim value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .config import LEVELS, ProviderSettings

__all__ = [
    "AssuranceTooLow",
    "IdentificationRefused",
    "IdentifiedPerson",
    "OpenIdProvider",
    "ProviderUnavailable",
    "build_providers",
    "subject_digest",
]

logger = logging.getLogger(__name__)

#: Signature algorithms an ID token may use (never ``none`` nor a MAC with the client secret).
ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256"]
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_SECONDS = 3600.0
KEYS_SECONDS = 3600.0
#: An unknown ``kid`` refetches the key set at most this often (a flood of forged tokens must not
#: turn into a flood of requests to the provider).
KEY_REFETCH_SECONDS = 60.0
CLOCK_LEEWAY_SECONDS = 60
_ASSURANCE_ORDER = {"none": 0, **{level: rank for rank, level in enumerate(LEVELS, start=1)}}


class ProviderUnavailable(RuntimeError):
    """The provider's metadata, keys or token endpoint cannot be reached or make no sense."""


class IdentificationRefused(ValueError):
    """The provider's answer cannot be accepted (refused code, invalid ID token, missing claims)."""


class AssuranceTooLow(IdentificationRefused):
    """The provider identified the person at a lower level of assurance than we require."""

    def __init__(self, asserted: str, required: str) -> None:
        super().__init__(f"assurance {asserted} below {required}")
        self.asserted, self.required = asserted, required


@dataclass(frozen=True)
class IdentifiedPerson:
    """Whom the provider identified, as mapped from its ID token (the CNP in memory only)."""

    subject: str
    cnp: str | None
    last_name: str
    first_name: str
    birth_date: date | None
    assurance: str


def assurance_at_least(level: str, minimum: str) -> bool:
    return _ASSURANCE_ORDER.get(level, 0) >= _ASSURANCE_ORDER[minimum]


def subject_digest(key: bytes, provider: str, subject: str) -> str:
    """A keyed digest of the provider's ``sub``: the same person is recognised, the ``sub`` never stored."""
    return hmac.new(key, f"{provider}\x00{subject}".encode(), hashlib.sha256).hexdigest()


class OpenIdProvider:
    """One OpenID Connect provider: authorization requests, code exchange, ID-token checks."""

    def __init__(self, config: ProviderSettings) -> None:
        self.config = config
        self.name = config.name
        self.redirect_uris = config.redirect_uris
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    # -- discovery and keys ----------------------------------------------------------------------

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"{what}: {exc.__class__.__name__}") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{what}: not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached); its ``issuer`` must be the configured one."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_SECONDS:
                return self._metadata
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = self._get_json(url, "discovery")
            if document.get("issuer") != self.config.issuer:
                raise ProviderUnavailable("discovery names another issuer")
            for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(endpoint), str):
                    raise ProviderUnavailable(f"discovery lacks {endpoint}")
        except ProviderUnavailable as exc:
            if self._metadata is None:
                raise
            logger.warning("provider %s: keeping its last metadata (%s)", self.name, exc)
            return self._metadata
        with self._lock:
            self._metadata, self._metadata_at = document, time.monotonic()
        return document

    def _key_set(self, *, refetch: bool = False) -> KeySet:
        with self._lock:
            age = time.monotonic() - self._keys_at
            if self._keys is not None and age < KEYS_SECONDS and not (refetch and age >= KEY_REFETCH_SECONDS):
                return self._keys
        try:
            published = self._get_json(self.metadata()["jwks_uri"], "keys")
            try:
                keys = KeySet.import_key_set(published)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError):
                raise ProviderUnavailable("keys: not a JWK set") from None
        except ProviderUnavailable as exc:
            if self._keys is None:
                raise
            logger.warning("provider %s: keeping its last keys (%s)", self.name, exc)
            with self._lock:
                self._keys_at = time.monotonic() - KEYS_SECONDS + KEY_REFETCH_SECONDS  # try again soon
            return self._keys
        with self._lock:
            self._keys, self._keys_at = keys, time.monotonic()
        return keys

    # -- the flow --------------------------------------------------------------------------------

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            self.config.client_id,
            self.config.client_secret,
            scope=self.config.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.config.token_auth_method,
        )

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str, redirect_uri: str) -> str:
        if redirect_uri not in self.redirect_uris:
            raise ValueError("redirect URI not configured for this provider")
        # Ask for the levels we accept (a voluntary claim: the ID token's acr is checked anyway).
        acceptable = [acr for acr, level in self.config.acr_levels if assurance_at_least(level, self.minimum)]
        extra = {"acr_values": " ".join(acceptable)} if acceptable else {}
        url, _state = self._client(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier, **extra
        )
        return str(url)

    @property
    def minimum(self) -> str:
        return self.config.minimum_assurance

    def identify(self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> IdentifiedPerson:
        """Exchange the code, verify the ID token, map its claims; raises when anything is off."""
        token_endpoint = self.metadata()["token_endpoint"]
        client = self._client(redirect_uri)
        try:
            with client:
                token = client.fetch_token(
                    token_endpoint, code=code, code_verifier=code_verifier, timeout=HTTP_TIMEOUT_SECONDS
                )
        except AuthlibBaseError as exc:
            raise IdentificationRefused(f"code exchange refused: {str(exc.error)[:40]}") from None
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"token endpoint: {exc.__class__.__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise IdentificationRefused("no ID token in the token response")
        return self.person(self.verify_id_token(id_token, nonce=nonce))

    def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce all hold."""
        decoded = self._decode(id_token)
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": self.config.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise IdentificationRefused(f"ID token claims: {exc.error}") from None
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or self.config.client_id not in audiences:
            raise IdentificationRefused("ID token claims: not for our client id")
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise IdentificationRefused("ID token claims: azp is not our client id")
        return claims

    def _decode(self, id_token: str, *, refetch: bool = False) -> jwt.Token:
        try:
            return jwt.decode(id_token, self._key_set(refetch=refetch), algorithms=ID_TOKEN_ALGORITHMS)
        except JoseError as exc:
            if _unknown_key(exc) and not refetch:  # the provider may have rotated its keys since
                return self._decode(id_token, refetch=True)
            raise IdentificationRefused(f"ID token: {exc.error}") from None
        except ValueError:  # malformed beyond what joserfc names
            raise IdentificationRefused("ID token: malformed") from None

    def person(self, claims: dict[str, Any]) -> IdentifiedPerson:
        """Map verified claims to a person, with the assurance level that ``acr`` names."""
        names = self.config.claims
        level = dict(self.config.acr_levels).get(str(claims.get("acr", "")), "none")
        if not assurance_at_least(level, self.minimum):
            raise AssuranceTooLow(level, self.minimum)

        def text(claim: str, *, required: bool) -> str | None:
            value = claims.get(claim) if claim else None
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value.strip():
                raise IdentificationRefused(f"claim {claim or 'cnp'} missing")
            return value.strip()

        birth = text(names.birth_date, required=not names.cnp)
        try:
            birth_date = date.fromisoformat(birth) if birth else None
        except ValueError:
            raise IdentificationRefused(f"claim {names.birth_date} is not a date") from None
        return IdentifiedPerson(
            subject=str(claims["sub"]),
            cnp=text(names.cnp, required=True) if names.cnp else None,
            last_name=str(text(names.family_name, required=True)),
            first_name=str(text(names.given_name, required=True)),
            birth_date=birth_date,
            assurance=level,
        )


def _unknown_key(error: JoseError) -> bool:
    return error.error in ("invalid_key_id", "missing_key")


def build_providers(configs: tuple[ProviderSettings, ...]) -> dict[str, OpenIdProvider]:
    return {config.name: OpenIdProvider(config) for config in configs}
