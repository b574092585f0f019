"""Access-token verification against identity-svc's JWKS, and role checks for Flask views.

Tokens are JWTs signed with an asymmetric key named by ``kid``. Only the algorithms in
``ALLOWED_ALGORITHMS`` are accepted (never ``none``, never HMAC), and issuer, audience, expiry
and issued-at are always checked. Claims this platform uses:

- ``sub``: the account id (a citizen's opaque ``citizen_id``, or a staff member's id);
- ``kind``: ``citizen`` or ``staff``;
- ``roles``: for staff, a list of ``"<role>@<unit>"`` strings (``"petition_clerk@IGPR"``;
  ``"certificate_clerk@*"`` is that role in every unit). Each role stands alone: ``admin`` manages
  staff accounts and implies no other role (an admin who must act as a clerk is granted the clerk
  role, which the audit log then shows);
- ``acr``: the identity assurance level of a citizen (``none``, ``substantial`` or ``high``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import jwt
from flask import g, request

from .problems import Problem

__all__ = [
    "ALLOWED_ALGORITHMS",
    "InvalidToken",
    "Principal",
    "TokenVerifier",
    "current_principal",
    "init_auth",
    "require_auth",
]

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
ANY_UNIT = "*"


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for us."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    subject: str
    kind: str
    roles: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    assurance: str = "none"
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_verified(self) -> bool:
        return self.assurance in ("substantial", "high")

    def units_for(self, role: str) -> set[str]:
        """The units in which the principal holds ``role`` (``{"*"}`` means all units)."""
        return {unit for r, unit in self.roles if r == role}

    def has_role(self, role: str, unit: str | None = None) -> bool:
        """Holds ``role`` in ``unit`` (or, without a unit, in some unit). No role implies another."""
        if not self.is_staff:
            return False
        units = self.units_for(role)
        if unit is None:
            return bool(units)
        return unit in units or ANY_UNIT in units


def _parse_roles(raw: Any) -> frozenset[tuple[str, str]]:
    if not isinstance(raw, list):
        return frozenset()
    roles = set()
    for item in raw:
        if isinstance(item, str) and "@" in item:
            role, unit = item.split("@", 1)
            roles.add((role, unit))
    return frozenset(roles)


class TokenVerifier:
    """Verifies access tokens with keys from a JWKS URL (cached) or a fixed JWKS document."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        leeway: int = 30,
        cache_lifespan: int = 300,
    ) -> None:
        if not jwks_url and jwks is None:
            raise ValueError("a JWKS URL or a JWKS document is required")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._static = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks is not None else None
        self._client = (
            jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=cache_lifespan, timeout=5)
            if jwks_url and jwks is None
            else None
        )
        self._lock = threading.Lock()

    def _key_for(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken("algorithm not allowed")
        kid = header.get("kid")
        if not kid:
            raise InvalidToken("token has no key id")
        if self._static is not None:
            for key in self._static.keys:
                if key.key_id == kid:
                    return key
            raise InvalidToken("unknown key id")
        assert self._client is not None
        try:
            with self._lock:
                return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise Problem(503, "Token keys are unavailable right now; try again shortly.") from exc
        except jwt.PyJWKClientError as exc:
            raise InvalidToken("unknown key id") from exc

    def verify(self, token: str) -> Principal:
        key = self._key_for(token)
        if key.algorithm_name not in ALLOWED_ALGORITHMS:
            raise InvalidToken("key algorithm not allowed")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(exc.__class__.__name__) from exc
        if claims.get("typ", "access") != "access":
            raise InvalidToken("not an access token")
        return Principal(
            subject=str(claims["sub"]),
            kind=str(claims.get("kind", "citizen")),
            roles=_parse_roles(claims.get("roles")),
            assurance=str(claims.get("acr", "none")),
            claims=claims,
        )


_F = TypeVar("_F", bound=Callable[..., Any])


def init_auth(app: Any, verifier: TokenVerifier | None) -> None:
    """Attach the verifier that :func:`require_auth` uses in this app."""
    app.extensions["mai_token_verifier"] = verifier


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "A bearer access token is required.",
            kind="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="mai-eservices"'},
        )
    return token.strip()


def current_principal(*, required: bool = True) -> Principal | None:
    """The verified caller of this request (verifying the token on first use)."""
    from flask import current_app

    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    if not required and "Authorization" not in request.headers:
        return None
    verifier: TokenVerifier | None = current_app.extensions.get("mai_token_verifier")
    if verifier is None:
        raise Problem(503, "Authentication is not configured on this service.")
    try:
        principal = verifier.verify(_bearer_token())
    except InvalidToken as exc:
        logger.info("token refused: %s", exc)
        raise Problem(
            401,
            "The access token is invalid or expired.",
            kind="unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    g.principal = principal
    return principal


def require_auth(*roles: str, kind: str | None = None) -> Callable[[_F], _F]:
    """Require a valid token; with ``roles``, a staff token holding one of them (in any unit).

    Unit scoping (``principal.has_role(role, unit)``) is checked by the view, which knows the unit.
    """

    def decorator(view: _F) -> _F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            assert principal is not None
            if kind is not None and principal.kind != kind:
                raise Problem(403, f"This operation is for {kind} accounts.", kind="forbidden")
            if roles and not any(principal.has_role(role) for role in roles):
                raise Problem(403, "Your account does not hold a role this operation needs.", kind="forbidden")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def roles_claim(roles: Iterable[tuple[str, str]]) -> list[str]:
    """Encode ``(role, unit)`` pairs as the ``roles`` claim (used by the token issuer)."""
    return sorted(f"{role}@{unit}" for role, unit in roles)
