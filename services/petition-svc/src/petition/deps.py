"""What petition-svc's handlers need besides the unit of work, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mai_chassis.challenges import ChallengeVerifier, verifier_for

from .attachments import AttachmentStore
from .config import Settings
from .directory import Directory, load_directory
from .quotas import AttachmentQuotas, StorageUse

__all__ = ["PetitionDeps", "build_deps"]


@dataclass(frozen=True)
class PetitionDeps:
    settings: Settings
    directory: Directory
    store: AttachmentStore
    quotas: AttachmentQuotas = field(default_factory=AttachmentQuotas)
    #: The attachment store's size, cached (None: not checked against the budget).
    storage: StorageUse | None = None
    #: Asked of anonymous clients past ``settings.submission_challenge_after`` (None: never).
    challenge: ChallengeVerifier | None = None


def build_deps(settings: Settings) -> PetitionDeps:
    """The dependencies the settings describe (the web app and the command line share them)."""
    return PetitionDeps(
        settings=settings,
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
        storage=StorageUse(),
        challenge=verifier_for(
            settings.submission_challenge, settings.submission_challenge_key, bits=settings.proof_of_work_bits
        ),
    )
