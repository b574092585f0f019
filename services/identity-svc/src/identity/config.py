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

Identification providers (``EID_PROVIDERS``, comma-separated names) are configured per name
``<N>`` (upper-cased, ``-`` as ``_``): ``EID_<N>_ADAPTER`` (``bank_card_3ds`` or ``sandbox``),
``EID_<N>_AUTHORIZE_URL``, ``EID_<N>_ISSUER``, ``EID_<N>_CLIENT_ID``, ``EID_<N>_PUBLIC_KEY`` (PEM,
for real providers) and ``EID_<N>_ASSURANCE`` (``substantial`` by default). The ``sandbox``
adapter simulates the bank-card step and can never be configured when ``ENVIRONMENT=production``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ConfigurationError, ServiceSettings

__all__ = ["ADAPTERS", "SANDBOX_ADAPTER", "ProviderSettings", "Settings"]

SANDBOX_ADAPTER = "sandbox"
ADAPTERS = ("bank_card_3ds", SANDBOX_ADAPTER)


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """One electronic-identification provider, as configured."""

    name: str
    adapter: str
    authorize_url: str = ""
    issuer: str = ""
    client_id: str = "mai-eservices"
    public_key_pem: str = ""
    assurance: str = "substantial"


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

    def __post_init__(self) -> None:
        problems = []
        if self.is_production:
            sandboxes = [p.name for p in self.eid_providers if p.adapter == SANDBOX_ADAPTER]
            if sandboxes:
                problems.append(f"the sandbox identification provider cannot run in production ({sandboxes})")
            if self.argon2_memory_kib < 19 * 1024 or self.argon2_time_cost < 2:
                problems.append("argon2 parameters below the production minimum (t=2, m=19 MiB)")
        for provider in self.eid_providers:
            if provider.adapter not in ADAPTERS:
                problems.append(f"EID provider {provider.name}: unknown adapter {provider.adapter!r}")
            elif provider.adapter != SANDBOX_ADAPTER and not (
                provider.public_key_pem and provider.issuer and provider.authorize_url
            ):
                problems.append(f"EID provider {provider.name}: public key, issuer and authorize URL are required")
            if provider.assurance not in ("substantial", "high"):
                problems.append(f"EID provider {provider.name}: assurance must be substantial or high")
        if problems:
            raise ConfigurationError(f"{self.service_name} cannot start: " + "; ".join(problems))

    def provider(self, name: str) -> ProviderSettings | None:
        return next((p for p in self.eid_providers if p.name == name), None)

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        names = [n.strip() for n in env.list("EID_PROVIDERS", []) if n.strip()]
        providers = []
        for name in names:
            prefix = "EID_" + name.upper().replace("-", "_") + "_"
            adapter = env.str(prefix + "ADAPTER", name.replace("-", "_"))
            real = adapter != SANDBOX_ADAPTER
            providers.append(
                ProviderSettings(
                    name=name,
                    adapter=adapter,
                    authorize_url=env.str(prefix + "AUTHORIZE_URL") if real else env.str(prefix + "AUTHORIZE_URL", ""),
                    issuer=env.str(prefix + "ISSUER") if real else env.str(prefix + "ISSUER", ""),
                    client_id=env.str(prefix + "CLIENT_ID", "mai-eservices"),
                    public_key_pem=env.str(prefix + "PUBLIC_KEY") if real else "",
                    assurance=env.str(prefix + "ASSURANCE", "substantial"),
                )
            )
        return {
            "encryption_keys": tuple(k for k in env.list("IDENTITY_ENCRYPTION_KEYS") if k.strip()),
            "sealing_keys": tuple(k for k in env.list("EVENT_SEALING_KEYS") if k.strip()),
            "argon2_time_cost": env.int("ARGON2_TIME_COST", 2),
            "argon2_memory_kib": env.int("ARGON2_MEMORY_KIB", 19 * 1024),
            "argon2_parallelism": env.int("ARGON2_PARALLELISM", 1),
            "access_token_seconds": env.int("ACCESS_TOKEN_SECONDS", 300),
            "refresh_token_seconds": env.int("REFRESH_TOKEN_SECONDS", 12 * 3600),
            "session_max_seconds": env.int("SESSION_MAX_SECONDS", 7 * 24 * 3600),
            "key_publish_lead_seconds": env.int("KEY_PUBLISH_LEAD_SECONDS", 600),
            "eid_providers": tuple(providers),
        }
