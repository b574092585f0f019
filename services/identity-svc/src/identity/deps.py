"""What identity-svc's handlers need besides the unit of work: one frozen value, built once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mai_chassis import Database
from mai_chassis.challenges import ChallengeVerifier, verifier_for
from mai_chassis.clock import SystemClock
from mai_chassis.sealing import Sealer

from .config import Settings
from .eid import OpenIdProvider, build_providers
from .personal_data import ExportSource, HttpExportSource
from .secrets_at_rest import FieldCipher, MailCodeHasher, SecretHasher
from .signing import KeyRing

__all__ = ["IdentityDeps", "build_deps"]


@dataclass(frozen=True)
class IdentityDeps:
    """Settings, hashers, ciphers, the signing key ring and the identification providers."""

    settings: Settings
    hasher: SecretHasher
    code_hasher: MailCodeHasher
    cipher: FieldCipher
    sealer: Sealer
    keys: KeyRing
    providers: Mapping[str, OpenIdProvider]
    #: Asked of clients past ``settings.form_challenge_after`` anonymous mail-sending forms (None: never).
    challenge: ChallengeVerifier | None = None
    #: The other services' parts of a citizen's data download.
    export_sources: tuple[ExportSource, ...] = ()


def build_deps(settings: Settings, database: Database) -> IdentityDeps:
    """The process' dependencies (the web app and the CLI each build them once)."""
    cipher = FieldCipher(settings.encryption_keys)
    return IdentityDeps(
        settings=settings,
        hasher=SecretHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        code_hasher=MailCodeHasher.derived_from(settings.encryption_keys),
        cipher=cipher,
        sealer=Sealer(list(settings.sealing_keys)),
        keys=KeyRing(
            database.session, cipher, clock=SystemClock(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        ),
        providers=build_providers(settings.eid_providers),
        challenge=verifier_for(settings.form_challenge, settings.form_challenge_key, bits=settings.proof_of_work_bits),
        export_sources=tuple(
            HttpExportSource(name, url, timeout=settings.export_timeout_seconds)
            for name, url in settings.export_sources
        ),
    )
