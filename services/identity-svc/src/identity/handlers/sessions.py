"""Sessions: login (throttled), refresh-token rotation, logout, and the password reset that ends them."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from mai_chassis import UnitOfWork
from sqlalchemy import delete, select, update

from .. import domain
from ..commands import LogIn, LogOut, RefreshSession, RequestPasswordReset, ResetPassword
from ..deps import IdentityDeps
from ..domain import AccountKind, MailCodePurpose
from ..errors import AccountDisabled, EmailUnconfirmed, LoginRefused, SessionEnded, TooManyFailedLogins
from ..secrets_at_rest import digest
from ..tables import Account, LoginThrottle, RefreshToken, StaffRoleGrant
from .accounts import admit_anonymous_form
from .lookups import account_by_email, aware, load_account, record_audit
from .mail_codes import request_reset, use_mail_code
from .sign_in_challenges import (
    ENROLMENT,
    SECOND_FACTOR,
    SecondFactorChallenge,
    second_factor_methods,
    sign_in_challenge,
)
from .throttling import (
    client_scope_prefix,
    count_failure,
    forget_failures,
    login_throttles,
    longest_lock,
    tell_owner_of_failed_logins,
)

__all__ = [
    "TokenPair",
    "issue_tokens",
    "log_in",
    "log_out",
    "refresh_session",
    "request_password_reset",
    "reset_password",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    device_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)


def _device_token(uow: UnitOfWork, deps: IdentityDeps, account: Account, device: str | None) -> str:
    """A token naming this device for this account (sealed: it cannot be forged or moved)."""
    payload = {
        "account": str(account.id),
        "device": device or uuid.uuid4().hex,
        "issued": int(uow.clock.now().timestamp()),
    }
    return deps.cipher.seal(json.dumps(payload))


def _known_device(uow: UnitOfWork, deps: IdentityDeps, token: str | None, account: Account | None) -> str | None:
    """The id of the device ``token`` names, if it is this account's and not too old."""
    if not token or account is None:
        return None
    try:
        payload = json.loads(deps.cipher.open(token))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("account") != str(account.id):
        return None
    issued, device = payload.get("issued"), payload.get("device")
    if not isinstance(issued, int) or not isinstance(device, str):
        return None
    if uow.clock.now().timestamp() - issued > deps.settings.device_token_days * 86400:
        return None
    return f"{account.id}:{device}"


def _access_claims(uow: UnitOfWork, deps: IdentityDeps, account: Account) -> dict[str, Any]:
    now = int(uow.clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": deps.settings.jwt_issuer,
        "aud": deps.settings.jwt_audience,
        "sub": str(account.id),
        "kind": account.kind,
        "roles": [],
        "acr": account.assurance_level,
        "typ": "access",
        "iat": now,
        "exp": now + deps.settings.access_token_seconds,
        "jti": uuid.uuid4().hex,
    }
    if account.kind == AccountKind.STAFF:
        grants = uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id == account.id))
        claims["roles"] = sorted(f"{g.role}@{g.unit}" for g in grants)
    return claims


def issue_tokens(
    uow: UnitOfWork,
    deps: IdentityDeps,
    account: Account,
    *,
    family: uuid.UUID | None = None,
    session_expires: datetime | None = None,
) -> TokenPair:
    now = uow.clock.now()
    refresh = secrets.token_urlsafe(32)
    longest = (
        deps.settings.staff_session_max_seconds
        if account.kind == AccountKind.STAFF
        else deps.settings.session_max_seconds
    )
    session_expires = session_expires or now + timedelta(seconds=longest)
    uow.session.add(
        RefreshToken(
            digest=digest(refresh),
            family_id=family or uuid.uuid4(),
            account_id=account.id,
            issued_at=now,
            expires_at=min(now + timedelta(seconds=deps.settings.refresh_token_seconds), session_expires),
            session_expires_at=session_expires,
        )
    )
    return TokenPair(deps.keys.sign(_access_claims(uow, deps, account)), refresh, deps.settings.access_token_seconds)


def _second_factor_step(uow: UnitOfWork, deps: IdentityDeps, account: Account) -> str | None:
    """What a staff member's right password leads to: a code, an enrolment, or (None) the tokens."""
    if account.kind != AccountKind.STAFF:
        return None
    if second_factor_methods(uow, account):
        return SECOND_FACTOR
    return ENROLMENT if deps.settings.staff_second_factor == "required" else None


def log_in(uow: UnitOfWork, deps: IdentityDeps, command: LogIn) -> TokenPair | SecondFactorChallenge:
    """Tokens for a right password; a wrong one counts against the client (and commits the count).

    A staff member's right password gives a second-factor challenge instead: a code of their
    authenticator (or a recovery code) ends the sign-in; without an active factor, the challenge
    allows enrolling one and nothing else (``STAFF_SECOND_FACTOR=required``).
    """
    account = account_by_email(uow, command.email)
    device = _known_device(uow, deps, command.device_token, account)
    throttles = login_throttles(deps, domain.normalise_email(command.email), command.address, device)
    wait, counted = longest_lock(uow, deps, throttles)
    if wait > 0:
        raise TooManyFailedLogins(int(wait) + 1)
    good = deps.hasher.verify(account.password_hash if account else None, command.password)
    if not good or account is None:
        for throttle in throttles:
            count_failure(uow, throttle.scope, throttle.window)
        if account is not None:
            tell_owner_of_failed_logins(uow, account, throttles)
            if account.kind == AccountKind.STAFF:
                record_audit(
                    uow, str(account.id), "staff.sign_in_refused", target=account.id, details={"step": "password"}
                )
        uow.commit()
        raise LoginRefused("The e-mail address or the password is wrong.")
    if account.disabled_at is not None:
        raise AccountDisabled("This account is disabled.")
    if account.email_confirmed_at is None:
        raise EmailUnconfirmed("Confirm your e-mail address first; we sent you a code.")
    if account.password_hash and deps.hasher.needs_rehash(account.password_hash):
        account.password_hash = deps.hasher.hash(command.password)
    forget_failures(uow, throttles, counted=counted)
    step = _second_factor_step(uow, deps, account)
    if step is not None:
        challenge = sign_in_challenge(uow, deps, account, step)
        uow.commit()
        return challenge
    pair = issue_tokens(uow, deps, account)
    if account.kind == AccountKind.STAFF:
        record_audit(uow, str(account.id), "staff.signed_in", target=account.id, details={"method": "password"})
    uow.commit()
    known = device.split(":", 1)[1] if device else None
    return replace(pair, device_token=_device_token(uow, deps, account, known))


def _revoke_family(uow: UnitOfWork, family_id: uuid.UUID) -> None:
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=uow.clock.now())
    )


def refresh_session(uow: UnitOfWork, deps: IdentityDeps, command: RefreshSession) -> TokenPair:
    """Rotate the refresh token; a token already rotated means theft: the whole session ends."""
    refused = SessionEnded("The session has ended; log in again.")
    row = uow.session.scalars(
        select(RefreshToken).where(RefreshToken.digest == digest(command.refresh_token)).with_for_update()
    ).first()
    if row is None:
        raise refused
    if row.rotated_at is not None or row.revoked_at is not None:
        if row.rotated_at is not None:
            logger.warning("rotated refresh token reused; session family %s revoked", row.family_id)
        _revoke_family(uow, row.family_id)
        uow.commit()
        raise refused
    now = uow.clock.now()
    if aware(row.expires_at) < now:
        raise refused
    account = load_account(uow, row.account_id)
    if account.disabled_at is not None:
        raise refused
    row.rotated_at = now
    pair = issue_tokens(uow, deps, account, family=row.family_id, session_expires=aware(row.session_expires_at))
    uow.commit()
    return pair


def log_out(uow: UnitOfWork, deps: IdentityDeps, command: LogOut) -> None:
    """End the session the refresh token belongs to (an unknown token: nothing to end)."""
    row = uow.session.scalars(select(RefreshToken).where(RefreshToken.digest == digest(command.refresh_token))).first()
    if row is not None:
        _revoke_family(uow, row.family_id)
    uow.commit()


def request_password_reset(uow: UnitOfWork, deps: IdentityDeps, command: RequestPasswordReset) -> None:
    """Mail a reset code to an enabled account; any other address gets nothing, and the same answer."""
    admit_anonymous_form(uow, deps, command.client)
    account = account_by_email(uow, command.email)
    if account is not None and account.disabled_at is None:
        request_reset(uow, deps, account, "password_reset")
    uow.commit()


def reset_password(uow: UnitOfWork, deps: IdentityDeps, command: ResetPassword) -> None:
    """Set a new password with a mailed code; every session of the account ends."""
    account = account_by_email(uow, command.email)
    use_mail_code(uow, deps, account, MailCodePurpose.PASSWORD_RESET, command.code)
    assert account is not None  # use_mail_code refuses a missing account
    now = uow.clock.now()
    account.password_hash = deps.hasher.hash(command.new_password)
    if account.email_confirmed_at is None:
        account.email_confirmed_at = now  # the code reached the mailbox
    # The owner proved the mailbox: failed logins counted against the account stop slowing them down.
    email_key = domain.normalise_email(command.email)
    uow.session.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.scope == "account:" + email_key)
            | LoginThrottle.scope.startswith(client_scope_prefix(email_key), autoescape=True)
        )
    )
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    uow.commit()
