"""``RecordDeps``: everything record-svc's use cases need besides the unit of work, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urljoin

from mai_chassis import Database

from .civil_status import CivilStatusSource
from .config import Settings
from .document import MakesCertificates
from .domain import FailureBudget, PurposeCatalogue, format_verification_code
from .registry import CnpHasher, CriminalRegistry
from .storage import CertificateStore

__all__ = ["RecordDeps", "build_deps"]


@dataclass(frozen=True, kw_only=True)
class RecordDeps:
    """The collaborators of the certificate use cases: adapters, the signer, the catalogue, settings."""

    civil_status: CivilStatusSource
    registry: CriminalRegistry
    hasher: CnpHasher
    maker: MakesCertificates
    store: CertificateStore
    purposes: PurposeCatalogue
    verification_base_url: str
    #: Police unit an application is referred to when the registry names none.
    default_referral_unit: str
    #: The unit in whose name certificates are issued online; its certificate clerks revoke them.
    issuing_unit: str
    failure_budget: FailureBudget = field(default_factory=FailureBudget)

    def verification_url(self, registration_number: str) -> str:
        """The public verification page for a number (printed on the certificate)."""
        return f"{self.verification_base_url}?{urlencode({'number': registration_number})}"

    def qr_url(self, registration_number: str, verification_code: str) -> str:
        """What the QR code carries: the page, with the code in the fragment, which browsers never
        send to a server (so it reaches no access log); the page fills its field from it."""
        code = format_verification_code(verification_code)
        return f"{self.verification_url(registration_number)}#{urlencode({'code': code})}"


def build_deps(
    settings: Settings,
    database: Database,
    *,
    civil_status: CivilStatusSource | None = None,
    registry: CriminalRegistry | None = None,
) -> RecordDeps:
    """Production adapters from the settings; tests pass their own civil-status source or registry."""
    from .civil_status import IdentityCivilStatusClient
    from .document import CertificateMaker, CertificateRenderer, PadesSigner
    from .metrics import watch_signing_certificate
    from .purposes import purpose_catalogue
    from .registry import DatabaseRegistry, HttpRegistry
    from .signing import signing_files
    from .storage import FilesystemCertificateStore

    hasher = CnpHasher(settings.registry_hash_key)
    signing = signing_files(settings)
    watch_signing_certificate(signing.cert_file)
    if registry is None:
        registry = (
            HttpRegistry(
                settings.registry_url,
                username=settings.registry_username,
                password=settings.registry_password,
                ca_file=settings.registry_ca_file,
                timeout=settings.registry_timeout_seconds,
            )
            if settings.registry_backend == "http"
            else DatabaseRegistry(database, hasher)
        )
    return RecordDeps(
        civil_status=civil_status
        or IdentityCivilStatusClient(settings.identity_url, timeout=settings.identity_timeout_seconds),
        registry=registry,
        hasher=hasher,
        maker=CertificateMaker(CertificateRenderer(settings.font_file, settings.bold_font_file), PadesSigner(signing)),
        store=FilesystemCertificateStore(Path(settings.certificates_dir)),
        purposes=purpose_catalogue(),
        verification_base_url=urljoin(settings.public_base_url + "/", settings.verification_page_path.lstrip("/")),
        default_referral_unit=settings.default_referral_unit,
        issuing_unit=settings.issuing_unit,
        failure_budget=FailureBudget(
            failures=settings.verification_failure_budget,
            window=timedelta(seconds=settings.verification_failure_window_seconds),
            lock=timedelta(seconds=settings.verification_lock_seconds),
            max_lock=timedelta(seconds=max(settings.verification_max_lock_seconds, settings.verification_lock_seconds)),
        ),
    )
