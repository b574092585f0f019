"""petition-svc: petitions, opinions and suggestions, registered at once with a number."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from mai_chassis import Database, create_service_app

from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    from mai_chassis.challenges import verifier_for

    from .api import PetitionContext, blueprint
    from .attachments import AttachmentStore
    from .directory import load_directory
    from .metrics import register_overdue_gauge, register_storage_gauge
    from .quotas import AttachmentQuotas, StorageUse

    settings = settings or Settings.from_env()
    database = Database(settings.database_url)
    app = create_service_app(settings, import_name=__name__, database=database)
    storage = StorageUse()
    app.extensions["petition"] = PetitionContext(
        settings=settings,
        database=database,
        directory=load_directory(),
        store=AttachmentStore(Path(settings.attachments_dir)),
        quotas=AttachmentQuotas(
            window=timedelta(seconds=settings.attachment_quota_window_seconds),
            petitions_per_client=settings.attachment_petitions_per_client,
            bytes_per_client=settings.attachment_bytes_per_client,
            petitions_per_recipient=settings.attachment_petitions_per_recipient,
            bytes_per_recipient=settings.attachment_bytes_per_recipient,
            storage_budget_bytes=settings.attachment_storage_budget_bytes,
        ),
        storage=storage,
        challenge=verifier_for(
            settings.submission_challenge, settings.submission_challenge_key, bits=settings.proof_of_work_bits
        ),
    )
    app.register_blueprint(blueprint)
    register_overdue_gauge(settings.service_name, database)
    register_storage_gauge(settings.service_name, database, storage, settings.attachment_storage_budget_bytes)
    return app
