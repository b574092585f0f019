"""Codes mailed to prove a mailbox: e-mail confirmation, password reset and staff invitation."""

from __future__ import annotations

from datetime import datetime, timedelta

from mai_chassis import UnitOfWork
from sqlalchemy import select, update

from .. import domain
from ..deps import IdentityDeps
from ..domain import MailCodePurpose
from ..errors import CodeRefused
from ..events import EmailConfirmationRequested, PasswordResetRequested
from ..tables import Account, MailChallenge
from .lookups import aware, recipient

__all__ = ["request_confirmation", "request_reset", "use_mail_code"]


def _new_mail_challenge(
    uow: UnitOfWork, deps: IdentityDeps, account: Account, purpose: MailCodePurpose
) -> tuple[str, datetime]:
    """A fresh code for ``purpose``; the account's open one of that purpose is closed."""
    now = uow.clock.now()
    uow.session.execute(
        update(MailChallenge)
        .where(
            MailChallenge.account_id == account.id,
            MailChallenge.purpose == purpose.value,
            MailChallenge.finished_at.is_(None),
        )
        .values(finished_at=now)
    )
    code = domain.mail_code()
    expires = now + timedelta(seconds=deps.settings.mail_code_seconds)
    uow.session.add(
        MailChallenge(
            account_id=account.id,
            purpose=purpose.value,
            code_hash=deps.code_hasher.hash(code),
            attempts=0,
            expires_at=expires,
            created_at=now,
        )
    )
    return code, expires


def request_confirmation(uow: UnitOfWork, deps: IdentityDeps, account: Account, reason: str) -> None:
    code, expires = _new_mail_challenge(uow, deps, account, MailCodePurpose.EMAIL_CONFIRMATION)
    uow.publish(
        EmailConfirmationRequested(
            citizen_id=account.id,
            reason=reason,
            sealed_confirmation=deps.sealer.seal(code),
            expires_at=expires,
            recipient=recipient(account),
        )
    )


def request_reset(uow: UnitOfWork, deps: IdentityDeps, account: Account, purpose: str) -> None:
    code, expires = _new_mail_challenge(uow, deps, account, MailCodePurpose.PASSWORD_RESET)
    uow.publish(
        PasswordResetRequested(
            account_id=account.id,
            purpose=purpose,
            sealed_reset=deps.sealer.seal(code),
            expires_at=expires,
            recipient=recipient(account),
        )
    )


def use_mail_code(
    uow: UnitOfWork, deps: IdentityDeps, account: Account | None, purpose: MailCodePurpose, code: str
) -> None:
    """Spend one attempt of the open challenge; a refused code commits the attempt and raises
    :class:`CodeRefused` (the caller then commits nothing more)."""
    refused = CodeRefused("The code is wrong, expired or used up; ask for a new one.")
    challenge = None
    if account is not None:
        challenge = uow.session.scalars(
            select(MailChallenge)
            .where(
                MailChallenge.account_id == account.id,
                MailChallenge.purpose == purpose.value,
                MailChallenge.finished_at.is_(None),
            )
            .order_by(MailChallenge.created_at.desc())
            .with_for_update()
        ).first()
    now = uow.clock.now()
    if challenge is None or aware(challenge.expires_at) < now or challenge.attempts >= deps.settings.mail_code_attempts:
        deps.code_hasher.verify(None, code)  # same work as a real check
        raise refused
    challenge.attempts += 1
    if not deps.code_hasher.verify(challenge.code_hash, domain.canonical_code(code)):
        if challenge.attempts >= deps.settings.mail_code_attempts:
            challenge.finished_at = now
        uow.commit()
        raise refused
    challenge.finished_at = now
