"""A citizen deletes their own account: identity-svc removes it and every service follows the event.

What identity-svc holds about the account (civil status, sessions, verifications, codes) goes
with the account row (ON DELETE CASCADE); the event ``account.deleted`` tells the other services,
which delete what they hold or unlink what the retention table makes them keep
(``on_account_deletion`` in ``contracts/mai_contracts/retention.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mai_chassis import UnitOfWork
from mai_contracts.retention import kept_after_account_deletion
from sqlalchemy import delete

from ..commands import DeleteAccount
from ..deps import IdentityDeps
from ..domain import AccountKind
from ..errors import Forbidden, PasswordRefused, TooManyFailedLogins
from ..events import AccountDeleted
from ..tables import Account, LoginThrottle
from .lookups import load_account, recipient
from .throttling import ACCOUNT_WINDOW, Throttle, count_failure, lock_remaining

__all__ = ["AccountDeletion", "KeptData", "delete_account", "remove_account"]


@dataclass(frozen=True)
class KeptData:
    """A class of data kept after the deletion, unlinked from the account, and why."""

    data_class: str
    service: str
    term: str
    basis: str


@dataclass(frozen=True)
class AccountDeletion:
    account_id: str
    deleted_at: datetime
    kept: tuple[KeptData, ...]


def kept_data() -> tuple[KeptData, ...]:
    return tuple(
        KeptData(data_class=entry.name, service=entry.service, term=entry.term_text, basis=entry.basis)
        for entry in kept_after_account_deletion()
    )


def remove_account(uow: UnitOfWork, account: Account, *, reason: str) -> AccountDeletion:
    """Delete ``account`` (and what cascades: sessions, civil status, codes) and publish ``account.deleted``.

    Does not commit: the caller's one commit writes the deletion and the event together.
    """
    now = uow.clock.now()
    uow.publish(AccountDeleted(account_id=account.id, reason=reason, deleted_at=now, recipient=recipient(account)))
    uow.session.execute(delete(LoginThrottle).where(LoginThrottle.scope.like(f"%:{account.id}")))
    uow.session.delete(account)
    return AccountDeletion(account_id=str(account.id), deleted_at=now, kept=kept_data())


def delete_account(uow: UnitOfWork, deps: IdentityDeps, command: DeleteAccount) -> AccountDeletion:
    """The citizen's own account, confirmed with its password; wrong passwords slow further tries down."""
    principal = command.principal
    if principal.kind != AccountKind.CITIZEN:
        raise Forbidden("Only a citizen can delete their own account here.")
    account = load_account(uow, principal.subject, lock=True)
    throttle = Throttle(f"deletion:{account.id}", deps.settings.account_free_failures, ACCOUNT_WINDOW)
    wait = lock_remaining(uow, deps, throttle)
    if wait > 0:
        raise TooManyFailedLogins(int(wait) + 1)
    if not deps.hasher.verify(account.password_hash, command.password):
        count_failure(uow, throttle.scope, throttle.window)
        uow.commit()
        raise PasswordRefused("The password is wrong; the account was not deleted.")
    deletion = remove_account(uow, account, reason="citizen_request")
    uow.commit()
    return deletion
