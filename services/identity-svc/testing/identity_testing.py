"""Helpers for identity-svc's tests (unit and integration): settings, keys, sample citizens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet
from identity.config import ProviderSettings, Settings
from identity.secrets_at_rest import FieldCipher
from identity.signing import rotate_keys
from mai_chassis.clock import SystemClock
from mai_chassis.db import Database

__all__ = [
    "CALLBACK",
    "CITIZEN",
    "OTHER_CNP",
    "VALID_CNP",
    "add_signing_key",
    "make_settings",
    "provider_settings",
]

VALID_CNP = "1800101221144"  # a man born on 1 January 1980 in Iași
OTHER_CNP = "2900215400014"  # a woman born on 15 February 1990 in Bucharest
CITIZEN = {
    "email": "ana.popescu@example.ro",
    "password": "correct horse battery",
    "last_name": "Popescu",
    "first_name": "Ana",
    "cnp": VALID_CNP,
}


CALLBACK = "http://portal.test/account/verification/callback"


def provider_settings(issuer: str, **overrides: Any) -> ProviderSettings:
    """A test OpenID Connect provider at ``issuer`` named ``bank-card``, the portal's callback registered."""
    values: dict[str, Any] = {
        "name": "bank-card",
        "issuer": issuer,
        "client_id": "mai-eservices-test",
        "client_secret": "test-client-secret",
        "redirect_uris": (CALLBACK, "http://portal.test/other/callback"),
        "test_provider": True,
    }
    values.update(overrides)
    return ProviderSettings(**values)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "log_json": False,
        "database_url": database_url,
        "kafka_bootstrap_servers": "",
        "jwt_issuer": "mai-identity",
        "jwt_audience": "mai-eservices",
        "public_base_url": "http://identity.test",
        "encryption_keys": (Fernet.generate_key().decode(),),
        "sealing_keys": (Fernet.generate_key().decode(),),
        # Cheap argon2 for tests only; production runs t=2, m=19 MiB (enforced by the settings).
        "argon2_time_cost": 1,
        "argon2_memory_kib": 256,
        "argon2_parallelism": 1,
        "eid_providers": (),
    }
    values.update(overrides)
    if values["environment"] != "production":
        # The service's tests of citizens and staff roles sign staff in with a password alone;
        # the second-factor tests ask for "required", production's only value.
        values.setdefault("staff_second_factor", "when-enrolled")
    else:
        # Production names the staff console's host for security keys (WebAuthn); so do its tests.
        values.setdefault("webauthn_rp_id", "staff.eservicii.mai.gov.ro")
        values.setdefault("webauthn_origins", ("https://staff.eservicii.mai.gov.ro",))
    return Settings(**values)


def add_signing_key(settings: Settings, *, publish_lead: timedelta = timedelta(0)) -> str:
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            key = rotate_keys(
                session,
                FieldCipher(settings.encryption_keys),
                clock=SystemClock(),
                publish_lead=publish_lead,
                token_lifetime=timedelta(seconds=settings.access_token_seconds),
                leeway=timedelta(seconds=60),
            )
            session.commit()
            return key.kid
    finally:
        database.dispose()
