"""booking-svc's retention rules (contracts retention.yaml): the queries of `booking-svc purge`.

The scanned documents of an application go (rows and files) once the retention term has passed
since the application was closed (the document picked up). A file is content-addressed (the same
bytes uploaded for two applications are stored once): it is removed when no document row is left
that points to it. Files are removed in the batch's transaction, before the commit: should the
commit fail, the rows stay for the next run, which finds the files already gone (that is fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .config import Settings
from .deps import document_store
from .documents import DocumentStore, FilesystemDocumentStore, S3DocumentStore
from .domain import ApplicationStatus
from .tables import Application, ApplicationDocument

__all__ = ["delete_documents", "document_rules", "purge", "rules"]

SERVICE = "booking-svc"


def _discard(store: DocumentStore, digest: str) -> None:
    if isinstance(store, S3DocumentStore):
        store.client.delete_object(Bucket=store.bucket, Key=store.prefix + digest)
    elif isinstance(store, FilesystemDocumentStore):
        store.path_of(digest).unlink(missing_ok=True)
    else:
        raise TypeError(f"no way to remove a file from a {type(store).__name__}")


def delete_documents(session: Session, store: DocumentStore, ids: Sequence[Any]) -> None:
    """Delete these document rows, and the files no document row points to any more."""
    digests = set(session.scalars(select(ApplicationDocument.sha256).where(ApplicationDocument.id.in_(ids))))
    session.execute(delete(ApplicationDocument).where(ApplicationDocument.id.in_(ids)))
    still_used = set(session.scalars(select(ApplicationDocument.sha256).where(ApplicationDocument.sha256.in_(digests))))
    for digest in sorted(digests - still_used):
        _discard(store, digest)


def document_rules(store: DocumentStore) -> list[RetentionRule]:
    def documents_of_closed_applications(cutoff: datetime) -> KeySelect:
        closed = select(Application.id).where(
            Application.status == ApplicationStatus.CLOSED.value,
            Application.picked_up_at.is_not(None),
            Application.picked_up_at < cutoff,
        )
        return select(ApplicationDocument.id).where(ApplicationDocument.application_id.in_(closed))

    def delete_these(session: Session, ids: Sequence[Any]) -> None:
        delete_documents(session, store, ids)

    return [RetentionRule("immigration-documents", documents_of_closed_applications, delete_these)]


def rules(settings: Settings) -> list[RetentionRule]:
    return document_rules(document_store(settings))


purge = purge_command(SERVICE, Settings, rules)
