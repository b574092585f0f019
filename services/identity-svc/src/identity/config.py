"""identity-svc settings, read once from the environment.

Secrets come only from the environment (Kubernetes Secrets), never from defaults:

- ``IDENTITY_ENCRYPTION_KEYS``: comma-separated Fernet keys, newest first. They encrypt at rest the
  JWT private signing keys (kept in the database so that every pod signs with the same key and
  ``rotate-keys`` needs no redeploy), the CNPs and the ID-document numbers. The first key
  encrypts; all of them decrypt, so a key can be rotated by prepending a new one.
- ``EVENT_SEALING_KEYS``: Fernet keys shared with notify-svc only; one-time codes mailed to a
  citizen travel sealed in events.

Argon2id (RFC 9106) parameters: ``ARGON2_TIME_COST`` passes over ``ARGON2_MEMORY_KIB`` KiB with
``ARGON2_PARALLELISM`` lanes. The default (t=2, m=19 MiB, p=1) is OWASP's recommended minimum
for argon2id: each login or registration in flight holds 19 MiB for about 20-40 ms, so a web pod
with 16 request threads needs at most ~300 MiB for hashing. Tests set cheap values.

Identification providers (``EID_PROVIDERS``, comma-separated names) are OpenID Connect providers,
each configured per name ``<N>`` (upper-cased, ``-`` as ``_``):

- ``EID_<N>_ISSUER`` (required): the issuer; its metadata is read from
  ``<issuer>/.well-known/openid-configuration`` and must name the same issuer;
- ``EID_<N>_CLIENT_ID`` and ``EID_<N>_CLIENT_SECRET`` (required; the secret from a Kubernetes
  Secret), ``EID_<N>_TOKEN_AUTH_METHOD`` (``client_secret_basic`` or ``client_secret_post``);
- ``EID_<N>_REDIRECT_URIS`` (required, comma-separated): the only redirect URIs a verification may
  name (the first is the default), as registered with the provider;
- ``EID_<N>_SCOPE`` (``openid profile`` by default);
- claims, per provider: ``EID_<N>_CNP_CLAIM`` (``cnp``; empty for a provider that gives a
  pseudonymous ``sub`` only, which is then matched on names and birth date),
  ``EID_<N>_FAMILY_NAME_CLAIM`` (``family_name``), ``EID_<N>_GIVEN_NAME_CLAIM`` (``given_name``),
  ``EID_<N>_BIRTH_DATE_CLAIM`` (``birthdate``);
- assurance: ``EID_<N>_ACR_LEVELS`` maps the ``acr`` values the provider asserts to our levels
  (``<acr>=<substantial|high>``, comma-separated; eIDAS' URIs by default) and
  ``EID_<N>_MINIMUM_ASSURANCE`` (``substantial``) refuses anything below;
- ``EID_<N>_TEST_PROVIDER`` (``false``): a development or test provider (the local OpenID Connect
  provider of ``make run`` and the tests). Production refuses it, and refuses any provider whose
  issuer or redirect URIs are not ``https`` or point at this machine.

The anonymous forms that create an account or send mail (registration, a new confirmation code, a
password reset) can ask for a solved challenge once one client has sent more than
``FORM_CHALLENGE_AFTER`` of them within ``FORM_CHALLENGE_WINDOW_SECONDS``: ``FORM_CHALLENGE`` is
``off`` (the default) or ``proof-of-work`` (``mai_chassis.challenges``), which needs
``FORM_CHALLENGE_KEY`` (at least 32 characters, from a Secret) and takes ``PROOF_OF_WORK_BITS`` (20).

Staff accounts sign in with a second factor (TOTP, RFC 6238): ``STAFF_SECOND_FACTOR`` is
``required`` (the default, and the only value production accepts: a staff member without an
active factor can sign in only to enrol one) or ``when-enrolled`` (test platforms only: a staff
member without a factor signs in with the password alone; one with a factor always gives a code).
A password accepted opens a second-factor challenge for ``SECOND_FACTOR_CHALLENGE_SECONDS`` (300).
Staff sessions end after ``STAFF_SESSION_MAX_SECONDS`` (10 hours, a working day), citizens' after
``SESSION_MAX_SECONDS`` (7 days); the authenticator app shows the account under ``TOTP_ISSUER``.

Staff may also register security keys and passkeys (WebAuthn) and give one instead of a code.
``WEBAUTHN_RP_ID`` is the relying party's id, the host name the console is served on (or a parent
domain of it), ``WEBAUTHN_ORIGINS`` the comma-separated origins whose pages may use the keys, and
``WEBAUTHN_RP_NAME`` the name the browser shows. In development both default to the host and the
origin of ``PUBLIC_BASE_URL`` (the gateway); production needs them set, the origins in ``https``.
A ceremony (registering a key, or signing in with one) must end within
``WEBAUTHN_CHALLENGE_SECONDS`` (120), and a member keeps at most ``SECURITY_KEYS_MAX`` (10) keys.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from environs import Env
from mai_chassis import ConfigurationError, ServiceSettings
from mai_chassis.challenges import CHALLENGE_KINDS
from marshmallow.validate import Length, OneOf, Range

__all__ = ["EIDAS_ACR_LEVELS", "LEVELS", "ClaimNames", "ProviderSettings", "Settings"]

LEVELS = ("substantial", "high")
STAFF_SECOND_FACTOR_MODES = ("required", "when-enrolled")
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: eIDAS levels of assurance as OpenID Connect ``acr`` values (the eIDAS node's URIs).
EIDAS_ACR_LEVELS = (
    ("http://eidas.europa.eu/LoA/substantial", "substantial"),
    ("http://eidas.europa.eu/LoA/high", "high"),
)


@dataclass(frozen=True, kw_only=True)
class ClaimNames:
    """Which ID-token claims carry the person's data at one provider."""

    cnp: str = "cnp"  # "" for a provider that identifies by a pseudonymous ``sub`` only
    family_name: str = "family_name"
    given_name: str = "given_name"
    birth_date: str = "birthdate"


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """One OpenID Connect identification provider, as configured."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    scope: str = "openid profile"
    token_auth_method: str = "client_secret_basic"  # noqa: S105 - a method's name, not a secret
    claims: ClaimNames = field(default_factory=ClaimNames)
    acr_levels: tuple[tuple[str, str], ...] = EIDAS_ACR_LEVELS
    minimum_assurance: str = "substantial"
    test_provider: bool = False

    def problems(self, *, production: bool) -> list[str]:
        found = []
        if not (self.issuer and self.client_id and self.client_secret and self.redirect_uris):
            found.append("issuer, client id, client secret and redirect URIs are required")
        if "openid" not in self.scope.split():
            found.append("the scope must include openid")
        if self.token_auth_method not in TOKEN_AUTH_METHODS:
            found.append(f"token auth method must be one of {TOKEN_AUTH_METHODS}")
        if self.minimum_assurance not in LEVELS or any(level not in LEVELS for _acr, level in self.acr_levels):
            found.append(f"assurance levels must be among {LEVELS}")
        if not self.acr_levels:
            found.append("ACR levels are required (acr value=level)")
        if not self.claims.cnp and not (self.claims.family_name and self.claims.given_name and self.claims.birth_date):
            found.append("without a CNP claim, the name and birth-date claims are required")
        for url in (self.issuer, *self.redirect_uris):
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                found.append(f"not an http(s) URL: {url!r}")
            elif production and (parts.scheme != "https" or _is_this_machine(parts.hostname)):
                found.append(f"production needs https URLs on another host: {url!r}")
        if production and self.test_provider:
            found.append("a test identification provider cannot run in production")
        return found


def _is_this_machine(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _within(host: str, rp_id: str) -> bool:
    """Whether ``host`` is the RP id or a name under it (WebAuthn's rule for an origin's RP id)."""
    return host == rp_id or host.endswith("." + rp_id)


def _redirect_uris(listed: list[str]) -> tuple[str, ...]:
    return tuple(uri.strip() for uri in listed if uri.strip())


def _acr_levels(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in raw.split(","):
        if item.strip():
            acr, _, level = item.strip().rpartition("=")
            pairs.append((acr.strip(), level.strip()))
    return tuple(pairs)


def _export_sources(listed: list[str]) -> tuple[tuple[str, str], ...]:
    """``name=url,...`` (``petition-svc=http://petition-svc``) as (name, url without a trailing slash)."""
    sources = []
    for item in (i.strip() for i in listed):
        if not item:
            continue
        name, separator, url = item.partition("=")
        if not separator or not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise ConfigurationError(f"ACCOUNT_EXPORT_SOURCES: {item!r} is not name=http(s)://host")
        sources.append((name.strip(), url.strip().rstrip("/")))
    return tuple(sources)


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "identity-svc"

    encryption_keys: tuple[str, ...] = ()
    sealing_keys: tuple[str, ...] = ()
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    access_token_seconds: int = 300
    refresh_token_seconds: int = 12 * 3600
    session_max_seconds: int = 7 * 24 * 3600
    #: A new signing key is published this long before it signs: every verifier's JWKS cache
    #: (the chassis caches 300 s) has picked it up by then.
    key_publish_lead_seconds: int = 600
    mail_code_seconds: int = 30 * 60
    mail_code_attempts: int = 5
    counter_code_seconds: int = 30 * 60
    verification_seconds: int = 10 * 60
    #: Failed logins one client (an address, or a device known to the account) may make on one
    #: account before each further try waits (1 s, doubling, up to ``lockout_max_seconds``).
    account_free_failures: int = 5
    #: Failed logins on one account from every client it does not know, together, before clients it
    #: does not know wait too; a device where the owner logged in before never does.
    unknown_client_free_failures: int = 20
    address_free_failures: int = 30
    lockout_max_seconds: int = 15 * 60
    #: How long a device where the account logged in stays known (the device token's lifetime).
    device_token_days: int = 180
    eid_providers: tuple[ProviderSettings, ...] = field(default_factory=tuple)
    #: ``proof-of-work``: a client's anonymous mail-sending forms past ``form_challenge_after`` in
    #: the window each need a solved challenge.
    form_challenge: str = "off"
    form_challenge_after: int = 5
    form_challenge_window_seconds: int = 3600
    form_challenge_key: str = field(default="", repr=False)
    proof_of_work_bits: int = 20
    staff_second_factor: str = "required"
    second_factor_challenge_seconds: int = 300
    #: Shorter than ``session_max_seconds``: a staff session lasts a working day.
    staff_session_max_seconds: int = 10 * 3600
    totp_issuer: str = "MAI e-services"
    #: The services whose data about a citizen the download of their data gathers, as (name, base URL):
    #: each is asked ``GET <url>/internal/v1/export`` with the citizen's own token.
    export_sources: tuple[tuple[str, str], ...] = ()
    export_timeout_seconds: float = 10.0
    #: WebAuthn relying party: empty id and origins mean the host and origin of ``public_base_url``.
    webauthn_rp_id: str = ""
    webauthn_rp_name: str = "MAI e-services"
    webauthn_origins: tuple[str, ...] = ()
    webauthn_challenge_seconds: int = 120
    security_keys_max: int = 10

    def __post_init__(self) -> None:
        problems = []
        if self.is_production and (self.argon2_memory_kib < 19 * 1024 or self.argon2_time_cost < 2):
            problems.append("argon2 parameters below the production minimum (t=2, m=19 MiB)")
        if self.staff_second_factor not in STAFF_SECOND_FACTOR_MODES:
            problems.append(f"STAFF_SECOND_FACTOR must be one of {', '.join(STAFF_SECOND_FACTOR_MODES)}")
        elif self.is_production and self.staff_second_factor != "required":
            problems.append("production requires a second factor of every staff account (STAFF_SECOND_FACTOR)")
        if self.staff_session_max_seconds > self.session_max_seconds:
            problems.append("STAFF_SESSION_MAX_SECONDS must not exceed SESSION_MAX_SECONDS")
        if self.is_production and not self.export_sources:
            problems.append("ACCOUNT_EXPORT_SOURCES must name the services a citizen's data download gathers")
        if self.is_production and not (self.webauthn_rp_id and self.webauthn_origins):
            problems.append("production needs WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS")
        for origin in self.relying_party_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
                problems.append(f"WEBAUTHN_ORIGINS: not an origin: {origin!r}")
            elif self.is_production and parts.scheme != "https":
                problems.append(f"WEBAUTHN_ORIGINS: production needs https: {origin!r}")
            elif not _within(parts.hostname, self.relying_party_id):
                problems.append(f"WEBAUTHN_ORIGINS: {origin!r} is not on {self.relying_party_id!r} (WEBAUTHN_RP_ID)")
        for provider in self.eid_providers:
            problems += [f"EID provider {provider.name}: {p}" for p in provider.problems(production=self.is_production)]
        if problems:
            raise ConfigurationError(f"{self.service_name} cannot start: " + "; ".join(problems))

    @property
    def relying_party_id(self) -> str:
        """The WebAuthn RP id: ``WEBAUTHN_RP_ID``, else the host of ``PUBLIC_BASE_URL``."""
        return self.webauthn_rp_id or (urlsplit(self.public_base_url).hostname or "")

    @property
    def relying_party_origins(self) -> tuple[str, ...]:
        """The origins a key's signature may name: ``WEBAUTHN_ORIGINS``, else ``PUBLIC_BASE_URL``'s."""
        if self.webauthn_origins:
            return self.webauthn_origins
        parts = urlsplit(self.public_base_url)
        return (f"{parts.scheme}://{parts.netloc}",)

    def provider(self, name: str) -> ProviderSettings | None:
        return next((p for p in self.eid_providers if p.name == name), None)

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        listed: list[str] = env.list("EID_PROVIDERS", [])
        names = [n.strip() for n in listed if n.strip()]
        providers = []
        for name in names:
            prefix = "EID_" + name.upper().replace("-", "_") + "_"
            claims = ClaimNames(
                cnp=env.str(prefix + "CNP_CLAIM", "cnp"),
                family_name=env.str(prefix + "FAMILY_NAME_CLAIM", "family_name"),
                given_name=env.str(prefix + "GIVEN_NAME_CLAIM", "given_name"),
                birth_date=env.str(prefix + "BIRTH_DATE_CLAIM", "birthdate"),
            )
            acr_levels = env.str(prefix + "ACR_LEVELS", "")
            providers.append(
                ProviderSettings(
                    name=name,
                    issuer=env.str(prefix + "ISSUER"),
                    client_id=env.str(prefix + "CLIENT_ID"),
                    client_secret=env.str(prefix + "CLIENT_SECRET"),
                    redirect_uris=_redirect_uris(env.list(prefix + "REDIRECT_URIS")),
                    scope=env.str(prefix + "SCOPE", "openid profile"),
                    token_auth_method=env.str(prefix + "TOKEN_AUTH_METHOD", "client_secret_basic"),
                    claims=claims,
                    acr_levels=_acr_levels(acr_levels) if acr_levels else EIDAS_ACR_LEVELS,
                    minimum_assurance=env.str(prefix + "MINIMUM_ASSURANCE", "substantial"),
                    test_provider=env.bool(prefix + "TEST_PROVIDER", False),
                )
            )
        challenge = env.str("FORM_CHALLENGE", "off", validate=OneOf(CHALLENGE_KINDS))
        challenge_values: dict[str, Any] = {
            "form_challenge": challenge,
            "form_challenge_after": env.int("FORM_CHALLENGE_AFTER", 5, validate=Range(min=0)),
            "form_challenge_window_seconds": env.int("FORM_CHALLENGE_WINDOW_SECONDS", 3600, validate=Range(min=1)),
            "proof_of_work_bits": env.int("PROOF_OF_WORK_BITS", 20, validate=Range(min=1, max=32)),
        }
        if challenge != "off":
            challenge_values["form_challenge_key"] = env.str("FORM_CHALLENGE_KEY", validate=Length(min=32))
        encryption_keys: list[str] = env.list("IDENTITY_ENCRYPTION_KEYS")
        sealing_keys: list[str] = env.list("EVENT_SEALING_KEYS")
        webauthn_origins: list[str] = env.list("WEBAUTHN_ORIGINS", [])
        return challenge_values | {
            "encryption_keys": tuple(k for k in encryption_keys if k.strip()),
            "sealing_keys": tuple(k for k in sealing_keys if k.strip()),
            "argon2_time_cost": env.int("ARGON2_TIME_COST", 2),
            "argon2_memory_kib": env.int("ARGON2_MEMORY_KIB", 19 * 1024),
            "argon2_parallelism": env.int("ARGON2_PARALLELISM", 1),
            "access_token_seconds": env.int("ACCESS_TOKEN_SECONDS", 300),
            "refresh_token_seconds": env.int("REFRESH_TOKEN_SECONDS", 12 * 3600),
            "session_max_seconds": env.int("SESSION_MAX_SECONDS", 7 * 24 * 3600),
            "key_publish_lead_seconds": env.int("KEY_PUBLISH_LEAD_SECONDS", 600),
            "eid_providers": tuple(providers),
            "staff_second_factor": env.str(
                "STAFF_SECOND_FACTOR", "required", validate=OneOf(STAFF_SECOND_FACTOR_MODES)
            ),
            "second_factor_challenge_seconds": env.int(
                "SECOND_FACTOR_CHALLENGE_SECONDS", 300, validate=Range(min=30, max=1800)
            ),
            "staff_session_max_seconds": env.int("STAFF_SESSION_MAX_SECONDS", 10 * 3600, validate=Range(min=300)),
            "totp_issuer": env.str("TOTP_ISSUER", "MAI e-services", validate=Length(min=1, max=60)),
            "export_sources": _export_sources(env.list("ACCOUNT_EXPORT_SOURCES", [])),
            "export_timeout_seconds": env.float("ACCOUNT_EXPORT_TIMEOUT_SECONDS", 10.0, validate=Range(min=1, max=60)),
            "webauthn_rp_id": env.str("WEBAUTHN_RP_ID", "").strip().lower(),
            "webauthn_rp_name": env.str("WEBAUTHN_RP_NAME", "MAI e-services", validate=Length(min=1, max=60)),
            "webauthn_origins": tuple(o.strip().rstrip("/") for o in webauthn_origins if o.strip()),
            "webauthn_challenge_seconds": env.int("WEBAUTHN_CHALLENGE_SECONDS", 120, validate=Range(min=30, max=600)),
            "security_keys_max": env.int("SECURITY_KEYS_MAX", 10, validate=Range(min=1, max=50)),
        }
