"""record-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import Length, OneOf, Range

REGISTRY_BACKENDS = ("database", "http")
STORAGE_BACKENDS = ("filesystem",)
DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "record-svc"

    #: identity-svc base URL; civil-status data is fetched from its internal endpoint.
    identity_url: str = ""
    identity_timeout_seconds: float = 5.0
    #: Key of the keyed hash (HMAC-SHA256) under which CNPs are stored and compared.
    registry_hash_key: str = ""
    registry_backend: str = "database"
    registry_url: str = ""
    registry_username: str = ""
    registry_password: str = ""
    registry_ca_file: str = ""
    registry_timeout_seconds: float = 5.0
    #: Police unit an application is referred to when the registry names none.
    default_referral_unit: str = "IGPR-CAZIER"
    #: The unit in whose name certificates are issued online; only its certificate clerks revoke them.
    issuing_unit: str = "IGPR-CAZIER"
    storage_backend: str = "filesystem"
    certificates_dir: str = "var/certificates"
    signing_key_file: str = ""
    signing_key_password: str = ""
    signing_cert_file: str = ""
    signing_chain_file: str = ""
    #: Development only: where a CA and signing certificate are generated on first start.
    development_signing_dir: str = "var/record-signing"
    font_file: str = DEFAULT_FONT
    bold_font_file: str = DEFAULT_BOLD_FONT
    #: Path of the public verification page the certificate's QR code points to.
    verification_page_path: str = "/certificates/verify"
    #: Wrong CNPs a registration number takes within the window before verification by CNP locks.
    verification_failure_budget: int = 5
    verification_failure_window_seconds: int = 86400
    #: The first lock; each lock that follows without a quiet window doubles it, up to the maximum.
    verification_lock_seconds: int = 86400
    verification_max_lock_seconds: int = 30 * 86400

    @property
    def signing_configured(self) -> bool:
        return bool(self.signing_key_file and self.signing_cert_file)

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        production = env.str("ENVIRONMENT", "development") == "production"
        backend = env.str("REGISTRY_BACKEND", "http" if production else "database", validate=OneOf(REGISTRY_BACKENDS))
        values: dict[str, Any] = {
            "identity_url": env.str("IDENTITY_URL").rstrip("/"),
            "identity_timeout_seconds": env.float("IDENTITY_TIMEOUT_SECONDS", 5.0),
            "registry_hash_key": env.str("REGISTRY_HASH_KEY", validate=Length(min=32)),
            "registry_backend": backend,
            "registry_timeout_seconds": env.float("REGISTRY_TIMEOUT_SECONDS", 5.0),
            "default_referral_unit": env.str("DEFAULT_REFERRAL_UNIT", "IGPR-CAZIER"),
            "issuing_unit": env.str("ISSUING_UNIT", "IGPR-CAZIER"),
            "storage_backend": env.str("STORAGE_BACKEND", "filesystem", validate=OneOf(STORAGE_BACKENDS)),
            "certificates_dir": env.str("CERTIFICATES_DIR", "var/certificates"),
            "development_signing_dir": env.str("SIGNING_DIR", "var/record-signing"),
            "font_file": env.str("CERTIFICATE_FONT_FILE", DEFAULT_FONT),
            "bold_font_file": env.str("CERTIFICATE_BOLD_FONT_FILE", DEFAULT_BOLD_FONT),
            "verification_page_path": env.str("VERIFICATION_PAGE_PATH", "/certificates/verify"),
            "verification_failure_budget": env.int("VERIFICATION_FAILURE_BUDGET", 5, validate=Range(min=1)),
            "verification_failure_window_seconds": env.int(
                "VERIFICATION_FAILURE_WINDOW_SECONDS", 86400, validate=Range(min=1)
            ),
            "verification_lock_seconds": env.int("VERIFICATION_LOCK_SECONDS", 86400, validate=Range(min=1)),
            "verification_max_lock_seconds": env.int(
                "VERIFICATION_MAX_LOCK_SECONDS", 30 * 86400, validate=Range(min=1)
            ),
            "signing_key_password": env.str("SIGNING_KEY_PASSWORD", ""),
            "signing_chain_file": env.str("SIGNING_CHAIN_FILE", ""),
        }
        if production:
            # A production certificate is signed with the ministry's key, never a generated one.
            values["signing_key_file"] = env.str("SIGNING_KEY_FILE")
            values["signing_cert_file"] = env.str("SIGNING_CERT_FILE")
        else:
            values["signing_key_file"] = env.str("SIGNING_KEY_FILE", "")
            values["signing_cert_file"] = env.str("SIGNING_CERT_FILE", "")
        if backend == "http":
            values["registry_url"] = env.str("REGISTRY_URL").rstrip("/")
            values["registry_username"] = env.str("REGISTRY_USERNAME")
            values["registry_password"] = env.str("REGISTRY_PASSWORD")
            values["registry_ca_file"] = env.str("REGISTRY_CA_FILE", "")
        return values
