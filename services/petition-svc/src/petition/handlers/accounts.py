"""A citizen's rights over their account's data here: ``account.deleted`` unlinks the account from
its petitions; :func:`export_citizen_data` is what petition-svc holds about the account.

Petitions and their answers are correspondence registers kept for the archive term (retention
class ``closed-petitions``); an open one must still be answered (OG 27/2002) at the address it
came from. So the petitions stay, without the account id: the citizen no longer finds them among
their own, and nothing else changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mai_chassis import Event, UnitOfWork
from mai_chassis.personal_data import export_document, row_data, rows_data
from sqlalchemy import select, update

from ..deps import PetitionDeps
from ..tables import Petition

__all__ = ["ACCOUNT_DELETED", "CitizensData", "export_citizen_data", "unlink_account"]

#: Not the citizen's data: internal digests and the clerks who handled the petition.
_NOT_EXPORTED = ("citizen_id", "content_fingerprint", "assignee", "answered_by", "registered_by", "reminded_for_due_on")

logger = logging.getLogger(__name__)

ACCOUNT_DELETED = "ro.mai.account.deleted.v1"


def unlink_account(uow: UnitOfWork, event: Event) -> None:
    """The consumer's handler (the consumer commits); a replay finds nothing left to unlink."""
    citizen_id = str(event.data["account_id"])
    unlinked = uow.session.execute(
        update(Petition).where(Petition.citizen_id == citizen_id).values(citizen_id=None)
    ).rowcount  # type: ignore[attr-defined]
    logger.info("account deleted: %d petitions unlinked", unlinked)


@dataclass(frozen=True)
class CitizensData:
    citizen_id: str


def export_citizen_data(uow: UnitOfWork, deps: PetitionDeps, query: CitizensData) -> dict[str, Any]:
    """Every petition sent while signed in to the account, with its answer and its attachments' names."""
    petitions = uow.session.scalars(
        select(Petition).where(Petition.citizen_id == query.citizen_id).order_by(Petition.registered_at)
    )
    items = []
    for petition in petitions:
        item = row_data(petition, exclude=_NOT_EXPORTED)
        item["attachments"] = rows_data(petition.attachments, exclude=("id", "petition_id", "sha256"))
        items.append(item)
    return export_document(deps.settings.service_name, query.citizen_id, {"petitions": items})
