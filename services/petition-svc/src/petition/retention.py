"""petition-svc's retention rules (contracts retention.yaml): the queries of `petition-svc purge`.

A closed petition (answered or closed otherwise) goes with its attachments once the archive term
has passed since it was closed. A petition still kept that was joined to one, or repeats one, loses
only that link. An attachment file is content-addressed (the same bytes sent twice are stored
once): it is removed when no attachment row is left that points to it. Files are removed in the
batch's transaction, before the commit: should the commit fail, the rows stay for the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mai_chassis.retention import KeySelect, RetentionRule, purge_command
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .attachments import AttachmentStore
from .config import Settings
from .domain import Status
from .tables import Attachment, Petition

__all__ = ["petition_rules", "purge", "rules"]

SERVICE = "petition-svc"
_CLOSED = (Status.ANSWERED.value, Status.CLOSED.value)


def petition_rules(store: AttachmentStore) -> list[RetentionRule]:
    def closed_petitions(cutoff: datetime) -> KeySelect:
        return (
            select(Petition.id)
            .where(Petition.status.in_(_CLOSED), Petition.closed_at.is_not(None), Petition.closed_at < cutoff)
            .order_by(Petition.closed_at)
        )

    def delete_petitions(session: Session, ids: Sequence[Any]) -> None:
        digests = set(session.scalars(select(Attachment.sha256).where(Attachment.petition_id.in_(ids))))
        session.execute(update(Petition).where(Petition.repeat_of_id.in_(ids)).values(repeat_of_id=None))
        session.execute(update(Petition).where(Petition.joined_to_id.in_(ids)).values(joined_to_id=None))
        session.execute(delete(Attachment).where(Attachment.petition_id.in_(ids)))
        session.execute(delete(Petition).where(Petition.id.in_(ids)))
        still_used = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(digests))))
        for digest in sorted(digests - still_used):
            store.path_for(digest).unlink(missing_ok=True)

    return [RetentionRule("closed-petitions", closed_petitions, delete_petitions)]


def rules(settings: Settings) -> list[RetentionRule]:
    return petition_rules(AttachmentStore(Path(settings.attachments_dir)))


purge = purge_command(SERVICE, Settings, rules)
