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
import time
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
#: Distinct token headers remembered per verifier (one per signing key and algorithm in practice);
#: past this many, further headers are decoded on every call.
SEEN_HEADERS_LIMIT = 64
_REQUIRED_CLAIMS: Any = {"require": ["exp", "iat", "sub", "iss", "aud"]}
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


class _KeySetCache:
    """The issuer's JWKS as last fetched, refreshed in the background and never by a flood.

    - Known key ids are answered from memory; the set is refreshed every ``lifespan`` seconds
      (in a background thread, while the old set keeps answering), so a key identity-svc stops
      publishing is refused within ``lifespan`` plus one fetch.
    - An unknown key id may trigger one fetch, at most once per ``refetch_interval`` per process
      (a newly published key); meanwhile, and for a key id that was just missed, the answer is
      "unknown key id" at once. Misses are remembered for ``refetch_interval``.
    - A failed fetch keeps the last good set: identity-svc being slow or down does not stop
      authentication. The last good set is trusted for at most ``max_stale`` seconds after it was
      fetched; past that every token is answered 503 until a fetch succeeds.
    - The HTTP request is made outside the lock, and only one is in flight at a time.
    """

    _MAX_MISSES = 4096

    def __init__(
        self,
        url: str,
        *,
        lifespan: float,
        refetch_interval: float,
        max_stale: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.lifespan = lifespan
        self.refetch_interval = refetch_interval
        self.max_stale = max_stale
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._fetched = threading.Condition(self._lock)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._in_flight = False
        self._misses: dict[str, float] = {}
        #: Fetches made (a figure for tests and metrics).
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        with self._lock:
            if self._fetched_at is None and (self._in_flight or self._may_fetch_locked(now)):
                # Nothing fetched yet (a fresh process): wait for the first fetch, whoever makes it.
                self._fetch_locked(wait=True)
                now = self._clock()
            if self._fetched_at is None or now - self._fetched_at > self.max_stale:
                if self._fetched_at is not None:
                    self._keys = {}  # too old to trust: a removed key must not live on
                    self._start_background_fetch_locked(now)
                raise Problem(503, "Token keys are unavailable right now; try again shortly.")
            if now - self._fetched_at > self.lifespan:
                self._start_background_fetch_locked(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            missed_at = self._misses.get(kid)
            if missed_at is not None and now - missed_at < self.refetch_interval:
                raise InvalidToken("unknown key id")
            if not self._may_fetch_locked(now):
                self._remember_miss_locked(kid, now)
                raise InvalidToken("unknown key id")
            # Perhaps a key published since the last fetch: look once, in this thread.
            self._fetch_locked(wait=False)
            key = self._keys.get(kid)
            if key is None:
                self._remember_miss_locked(kid, self._clock())
                raise InvalidToken("unknown key id")
            return key

    def _may_fetch_locked(self, now: float) -> bool:
        return not self._in_flight and (self._last_attempt is None or now - self._last_attempt >= self.refetch_interval)

    def _remember_miss_locked(self, kid: str, now: float) -> None:
        if len(self._misses) >= self._MAX_MISSES:
            self._misses = {k: t for k, t in self._misses.items() if now - t < self.refetch_interval}
            if len(self._misses) >= self._MAX_MISSES:
                self._misses.clear()
        self._misses[kid] = now

    def _start_background_fetch_locked(self, now: float) -> None:
        if self._may_fetch_locked(now):
            self._in_flight = True
            self._last_attempt = now
            threading.Thread(target=self._fetch_in_background, name="jwks-refresh", daemon=True).start()

    def _fetch_in_background(self) -> None:
        keys = self._download()
        with self._lock:
            self._store_locked(keys)

    def _fetch_locked(self, *, wait: bool) -> None:
        """Fetch now (the lock is released during the request); with ``wait``, join one in flight."""
        if self._in_flight:
            if wait:
                self._fetched.wait(self.timeout + 1)
            return
        self._in_flight = True
        self._last_attempt = self._clock()
        self._lock.release()
        try:
            keys = self._download()
        finally:
            self._lock.acquire()
        self._store_locked(keys)

    def _store_locked(self, keys: dict[str, jwt.PyJWK] | None) -> None:
        self._in_flight = False
        if keys is not None:
            self._keys = keys
            self._fetched_at = self._clock()
            self._misses = {k: t for k, t in self._misses.items() if k not in keys}
        self._fetched.notify_all()

    def _download(self) -> dict[str, jwt.PyJWK] | None:
        """The published keys by id, or None when the JWKS cannot be had (the old set stays)."""
        import requests

        self.fetches += 1
        try:
            response = requests.get(self.url, timeout=self.timeout, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
            keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(document).keys if key.key_id}
        except Exception as exc:  # any failure keeps the last good set
            logger.warning("token keys not refreshed from %s: %s", self.url, exc.__class__.__name__)
            return None
        return keys


class TokenVerifier:
    """Verifies access tokens with keys from a JWKS URL (see :class:`_KeySetCache`) or a fixed JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        leeway: int = 30,
        cache_lifespan: float = 300,
        refetch_interval: float = 30,
        max_stale: float = 3600,
        fetch_timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not jwks_url and jwks is None:
            raise ValueError("a JWKS URL or a JWKS document is required")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        #: Header segments already checked -> their key id (the key itself is looked up every time,
        #: so a key removed from the JWKS stops verifying at once).
        self._seen_headers: dict[str, str] = {}
        self._static = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks is not None else None
        self._cache = (
            _KeySetCache(
                jwks_url,
                lifespan=cache_lifespan,
                refetch_interval=refetch_interval,
                max_stale=max_stale,
                timeout=fetch_timeout,
                clock=clock,
            )
            if jwks_url and jwks is None
            else None
        )

    @property
    def key_fetches(self) -> int:
        """How many times the JWKS URL was fetched."""
        return self._cache.fetches if self._cache is not None else 0

    def _key_for(self, token: str) -> tuple[str, Any]:
        # Every token a key signs carries the same header segment, so the header of a token already
        # verified is not decoded again (PyJWT checks each character of every segment in Python:
        # reading the header that way cost as much as the rest of the verification). The key itself
        # is looked up every time, so a key gone from the JWKS stops verifying at once.
        kid = self._seen_headers.get(token.partition(".")[0]) or _checked_key_id(token)
        return kid, self._key_by_id(kid)

    def _key_by_id(self, kid: str) -> Any:
        if self._static is not None:
            for key in self._static.keys:
                if key.key_id == kid:
                    return key
            raise InvalidToken("unknown key id")
        assert self._cache is not None
        return self._cache.key(kid)

    def verify(self, token: str) -> Principal:
        kid, key = self._key_for(token)
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
                options=_REQUIRED_CLAIMS,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(exc.__class__.__name__) from exc
        if claims.get("typ", "access") != "access":
            raise InvalidToken("not an access token")
        if len(self._seen_headers) < SEEN_HEADERS_LIMIT:
            self._seen_headers[token.partition(".")[0]] = kid  # only a header its signature covered
        return Principal(
            subject=str(claims["sub"]),
            kind=str(claims.get("kind", "citizen")),
            roles=_parse_roles(claims.get("roles")),
            assurance=str(claims.get("acr", "none")),
            claims=claims,
        )


_F = TypeVar("_F", bound=Callable[..., Any])


def _checked_key_id(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise InvalidToken("algorithm not allowed")
    kid = header.get("kid")
    if not kid or not isinstance(kid, str):
        raise InvalidToken("token has no key id")
    return str(kid)


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
