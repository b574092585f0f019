"""record-svc's use cases, one module per area; each handler is ``(uow, deps, command)``."""

from .applications import (
    ApplyForCertificate,
    CertificatePdf,
    CertificateSummary,
    DownloadCertificate,
    ListCertificates,
    Referral,
    ShowCertificate,
    apply_for_certificate,
    download_certificate,
    list_certificates,
    show_certificate,
)
from .identities import record_verified_identity
from .revocation import Revocation, RevokeCertificate, revoke_certificate
from .verification import Verification, VerifyCertificate, verify_certificate

__all__ = [
    "ApplyForCertificate",
    "CertificatePdf",
    "CertificateSummary",
    "DownloadCertificate",
    "ListCertificates",
    "Referral",
    "Revocation",
    "RevokeCertificate",
    "ShowCertificate",
    "Verification",
    "VerifyCertificate",
    "apply_for_certificate",
    "download_certificate",
    "list_certificates",
    "record_verified_identity",
    "revoke_certificate",
    "show_certificate",
    "verify_certificate",
]
