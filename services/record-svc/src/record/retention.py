"""record-svc's retention rules (contracts retention.yaml): the queries of `record-svc purge`.

A certificate goes (its row and its signed PDF) once the retention term has passed since its
validity ended. The PDF is discarded in the batch's transaction, before the commit: should the
commit fail, the row stays for the next run, which discards nothing more (a missing file is fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .config import Settings
from .storage import CertificateStore, FilesystemCertificateStore
from .tables import CertificateApplication

__all__ = ["certificate_rules", "purge", "rules"]

SERVICE = "record-svc"


def certificate_rules(store: CertificateStore) -> list[RetentionRule]:
    def expired_certificates(cutoff: datetime) -> KeySelect:
        return select(CertificateApplication.id).where(
            CertificateApplication.valid_until.is_not(None), CertificateApplication.valid_until < cutoff
        )

    def delete_certificates(session: Session, ids: Sequence[Any]) -> None:
        for certificate_id in ids:
            store.discard(certificate_id)
        session.execute(delete(CertificateApplication).where(CertificateApplication.id.in_(ids)))

    return [RetentionRule("expired-certificates", expired_certificates, delete_certificates)]


def rules(settings: Settings) -> list[RetentionRule]:
    return certificate_rules(FilesystemCertificateStore(Path(settings.certificates_dir)))


purge = purge_command(SERVICE, Settings, rules)
