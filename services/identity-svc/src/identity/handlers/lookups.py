"""Reads and records the handlers of every area share: accounts, civil status, the staff audit trail."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import select

from .. import domain
from ..deps import IdentityDeps
from ..domain import CivilStatus
from ..errors import NotFound
from ..events import Recipient
from ..tables import Account, CivilStatusRecord, StaffAuditEntry

__all__ = ["account_by_email", "aware", "civil_status", "load_account", "recipient", "record_audit"]


def aware(moment: datetime) -> datetime:
    """A timestamp as read back from the database, in UTC (SQLite drops the zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def recipient(account: Account) -> Recipient:
    return Recipient(email=account.email, name=account.display_name, language=account.language)


def account_by_email(uow: UnitOfWork, email: str) -> Account | None:
    return uow.session.scalars(select(Account).where(Account.email == domain.normalise_email(email))).first()


def load_account(uow: UnitOfWork, account_id: str | uuid.UUID, *, lock: bool = False) -> Account:
    """The account, else :class:`NotFound`; ``lock`` holds its row until the transaction ends."""
    try:
        key = account_id if isinstance(account_id, uuid.UUID) else uuid.UUID(str(account_id))
    except ValueError:
        raise NotFound("No such account.") from None
    statement = select(Account).where(Account.id == key)
    if lock:
        # Read again under the lock: what this session loaded before may be stale by now.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    account = uow.session.scalars(statement).first()
    if account is None:
        raise NotFound("No such account.")
    return account


def civil_status(deps: IdentityDeps, record: CivilStatusRecord) -> CivilStatus:
    """The civil-status record with its CNP opened."""
    return CivilStatus(
        last_name=record.last_name,
        first_name=record.first_name,
        cnp=deps.cipher.open(record.cnp_sealed),
        birth_date=record.birth_date,
        birth_place=record.birth_place,
        father_first_name=record.father_first_name,
        mother_first_name=record.mother_first_name,
        citizenship=record.citizenship,
        address=record.address,
    )


def record_audit(
    uow: UnitOfWork,
    actor: str | None,
    action: str,
    *,
    target: uuid.UUID | None = None,
    unit: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    """An entry of the staff audit trail (``actor`` None: the command line)."""
    uow.session.add(
        StaffAuditEntry(
            actor_id=uuid.UUID(actor) if actor else None,
            action=action,
            target_account_id=target,
            unit=unit,
            details=json.dumps(details, ensure_ascii=False) if details else None,
            request_id=request_id,
            at=uow.clock.now(),
        )
    )
