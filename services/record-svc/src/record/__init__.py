"""record-svc: criminal-record certificates, issued at once as signed PDFs, verifiable by anyone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

from flask import Flask, Response, jsonify
from mai_chassis import Database, TokenVerifier, create_service_app
from mai_chassis.web import verifier_from_settings

from .config import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    clock: object | None = None,
    civil_status: object | None = None,
    registry: object | None = None,
    token_verifier: TokenVerifier | None = None,
) -> Flask:
    """The web app; tests pass their own clock or adapters, production builds them from settings."""
    from .api import certificates
    from .civil_status import IdentityCivilStatusClient
    from .clock import SystemClock
    from .document import CertificateMaker, CertificateRenderer, PadesSigner
    from .domain import FailureBudget
    from .handlers import CertificateOffice
    from .openapi import openapi_document
    from .purposes import purpose_catalogue
    from .registry import CnpHasher, DatabaseRegistry, HttpRegistry
    from .signing import signing_files
    from .storage import FilesystemCertificateStore

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    verifier = token_verifier or verifier_from_settings(settings)
    hasher = CnpHasher(settings.registry_hash_key)
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
    office = CertificateOffice(
        database=database,
        clock=clock or SystemClock(),  # type: ignore[arg-type]
        civil_status=civil_status  # type: ignore[arg-type]
        or IdentityCivilStatusClient(settings.identity_url, timeout=settings.identity_timeout_seconds),
        registry=registry,  # type: ignore[arg-type]
        hasher=hasher,
        maker=CertificateMaker(
            CertificateRenderer(settings.font_file, settings.bold_font_file), PadesSigner(signing_files(settings))
        ),
        store=FilesystemCertificateStore(Path(settings.certificates_dir)),
        purposes=purpose_catalogue(),
        verification_base_url=urljoin(settings.public_base_url + "/", settings.verification_page_path.lstrip("/")),
        default_referral_unit=settings.default_referral_unit,
        failure_budget=FailureBudget(
            failures=settings.verification_failure_budget,
            window=timedelta(seconds=settings.verification_failure_window_seconds),
            lock=timedelta(seconds=settings.verification_lock_seconds),
            max_lock=timedelta(seconds=max(settings.verification_max_lock_seconds, settings.verification_lock_seconds)),
        ),
    )
    app = create_service_app(settings, import_name=__name__, database=database, token_verifier=verifier)
    app.extensions["record_office"] = office
    app.register_blueprint(certificates)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    return app
