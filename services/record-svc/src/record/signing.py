"""The PAdES signing identity: the ministry's key and certificate, or a generated development pair.

In production ``SIGNING_KEY_FILE`` / ``SIGNING_CERT_FILE`` / ``SIGNING_CHAIN_FILE`` (PEM) come from
a Kubernetes Secret. Elsewhere, when they are not set, a development CA and a signing certificate
issued by it are generated once under ``var/record-signing/`` and reused on later starts.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mai_chassis import ConfigurationError

from .config import Settings

__all__ = ["DOCUMENT_SIGNING_EKU", "SigningFiles", "generate_development_identity", "signing_files"]

logger = logging.getLogger(__name__)

#: id-kp-documentSigning (RFC 9336).
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_KEY, _CERT, _CHAIN = "signing-key.pem", "signing-cert.pem", "chain.pem"


@dataclass(frozen=True)
class SigningFiles:
    key_file: Path
    cert_file: Path
    chain_file: Path | None
    key_password: bytes | None = None


def signing_files(settings: Settings) -> SigningFiles:
    """The configured signing files; in development, generated ones when none are configured."""
    if settings.signing_configured:
        files = SigningFiles(
            key_file=Path(settings.signing_key_file),
            cert_file=Path(settings.signing_cert_file),
            chain_file=Path(settings.signing_chain_file) if settings.signing_chain_file else None,
            key_password=settings.signing_key_password.encode() if settings.signing_key_password else None,
        )
        missing = [str(p) for p in (files.key_file, files.cert_file, files.chain_file) if p and not p.is_file()]
        if missing:
            raise ConfigurationError(f"record-svc cannot start: signing files not found: {', '.join(missing)}")
        return files
    if settings.is_production:
        raise ConfigurationError("record-svc cannot start: SIGNING_KEY_FILE and SIGNING_CERT_FILE are required")
    return generate_development_identity(Path(settings.development_signing_dir))


def generate_development_identity(directory: Path) -> SigningFiles:
    """A development CA and signing certificate in ``directory``, created once (safe across processes)."""
    files = SigningFiles(directory / _KEY, directory / _CERT, directory / _CHAIN)
    if files.key_file.is_file() and files.cert_file.is_file():
        return files
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".record-signing-", dir=directory.parent))
    _write_identity(staging)
    try:
        # Atomic: another process starting at the same moment either wins or finds ours.
        os.rename(staging, directory)
        logger.warning("generated a DEVELOPMENT signing CA and certificate in %s (never for production)", directory)
    except OSError:
        for item in staging.iterdir():
            item.unlink()
        staging.rmdir()
    return files


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "RO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ministerul Afacerilor Interne (DEVELOPMENT)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_identity(directory: Path) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("MAI e-services development CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Cazier judiciar online (development)"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path = directory / _KEY
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    (directory / _CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / _CHAIN).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
