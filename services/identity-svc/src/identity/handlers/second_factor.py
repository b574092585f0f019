"""Staff second factor: TOTP enrolment (confirmed by a first code), recovery codes, and the second
step of a staff sign-in. Wrong codes are throttled like failed logins; everything is audited."""

from __future__ import annotations

from dataclasses import dataclass

from mai_chassis import Principal, UnitOfWork
from sqlalchemy import delete, select

from .. import second_factor
from ..commands import ConfirmTotpEnrolment, PassSecondFactor, StartTotpEnrolment
from ..deps import IdentityDeps
from ..domain import AccountKind
from ..errors import (
    Forbidden,
    SecondFactorExists,
    SecondFactorNotPending,
    SecondFactorRefused,
    TooManyFailedLogins,
)
from ..tables import Account, StaffRecoveryCode, StaffSecondFactor
from .lookups import load_account, record_audit
from .sessions import TokenPair, issue_tokens
from .sign_in_challenges import ENROLMENT, SECOND_FACTOR, open_challenge
from .throttling import ACCOUNT_WINDOW, Throttle, count_failure, forget_failures, lock_remaining

__all__ = [
    "ConfirmedEnrolment",
    "confirm_totp_enrolment",
    "pass_second_factor",
    "refuse_second_factor",
    "start_totp_enrolment",
    "wait_if_throttled",
]


@dataclass(frozen=True)
class ConfirmedEnrolment:
    """The recovery codes, shown once; ``tokens`` when the enrolment ended a sign-in."""

    recovery_codes: tuple[str, ...]
    tokens: TokenPair | None = None


def _throttle(deps: IdentityDeps, account: Account) -> Throttle:
    """Wrong second-factor codes of one account, counted like failed logins (the password is already known)."""
    return Throttle(f"second-factor:{account.id}", deps.settings.account_free_failures, ACCOUNT_WINDOW)


def wait_if_throttled(uow: UnitOfWork, deps: IdentityDeps, account: Account) -> Throttle:
    throttle = _throttle(deps, account)
    wait = lock_remaining(uow, deps, throttle)
    if wait > 0:
        raise TooManyFailedLogins(int(wait) + 1)
    return throttle


def refuse_second_factor(
    uow: UnitOfWork,
    account: Account,
    throttle: Throttle,
    method: str,
    reason: str,
    detail: str = "The code is wrong or was already used.",
) -> SecondFactorRefused:
    """Count and audit a refused second factor, commit both, and give the error to raise."""
    count_failure(uow, throttle.scope, throttle.window)
    record_audit(
        uow,
        str(account.id),
        "staff.second_factor_failed",
        target=account.id,
        details={"method": method, "reason": reason},
    )
    uow.commit()
    return SecondFactorRefused(detail)


def _enrolling_account(uow: UnitOfWork, deps: IdentityDeps, principal: Principal | None, token: str | None) -> Account:
    """The staff member enrolling: mid sign-in (a challenge token for enrolment) or signed in."""
    if token is not None:
        return open_challenge(uow, deps, token, ENROLMENT)
    if principal is None or not principal.is_staff:
        raise Forbidden("Only staff accounts enrol a second factor.")
    account = load_account(uow, principal.subject, lock=True)
    if account.kind != AccountKind.STAFF:
        raise Forbidden("Only staff accounts enrol a second factor.")
    return account


def start_totp_enrolment(uow: UnitOfWork, deps: IdentityDeps, command: StartTotpEnrolment) -> second_factor.Enrolment:
    """A new secret, kept encrypted and inactive until a first code confirms it; starting again replaces it."""
    account = _enrolling_account(uow, deps, command.principal, command.challenge_token)
    factor = uow.session.get(StaffSecondFactor, account.id, populate_existing=True)
    if factor is not None and factor.confirmed_at is not None:
        raise SecondFactorExists("This account already has an authenticator.")
    secret = second_factor.new_secret()
    now = uow.clock.now()
    if factor is None:
        uow.session.add(
            StaffSecondFactor(account_id=account.id, secret_sealed=deps.cipher.seal(secret), created_at=now)
        )
    else:
        factor.secret_sealed, factor.created_at, factor.last_step = deps.cipher.seal(secret), now, None
    record_audit(uow, str(account.id), "staff.second_factor_enrolment_started", target=account.id)
    uow.commit()
    return second_factor.enrolment(secret, account_name=account.email, issuer=deps.settings.totp_issuer)


def confirm_totp_enrolment(uow: UnitOfWork, deps: IdentityDeps, command: ConfirmTotpEnrolment) -> ConfirmedEnrolment:
    """The first valid code activates the factor and makes ten recovery codes (shown only now)."""
    account = _enrolling_account(uow, deps, command.principal, command.challenge_token)
    factor = uow.session.get(StaffSecondFactor, account.id, populate_existing=True)
    if factor is None:
        raise SecondFactorNotPending("Start the enrolment first.")
    if factor.confirmed_at is not None:
        raise SecondFactorExists("This account already has an authenticator.")
    throttle = wait_if_throttled(uow, deps, account)
    now = uow.clock.now()
    step, replayed = second_factor.matching_step(deps.cipher.open(factor.secret_sealed), command.code, now, after=None)
    if step is None or replayed:
        raise refuse_second_factor(uow, account, throttle, "totp_enrolment", "wrong")
    factor.confirmed_at, factor.last_step = now, step
    uow.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.account_id == account.id))
    codes = second_factor.new_recovery_codes()
    for code in codes:
        uow.session.add(
            StaffRecoveryCode(
                account_id=account.id,
                code_hash=deps.code_hasher.hash(second_factor.normalise_recovery_code(code)),
                created_at=now,
            )
        )
    forget_failures(uow, [throttle])
    record_audit(uow, str(account.id), "staff.second_factor_enrolled", target=account.id, details={"method": "totp"})
    tokens = None
    if command.challenge_token is not None:
        tokens = issue_tokens(uow, deps, account)
        record_audit(uow, str(account.id), "staff.signed_in", target=account.id, details={"method": "totp_enrolment"})
    uow.commit()
    return ConfirmedEnrolment(recovery_codes=tuple(codes), tokens=tokens)


def _spend_recovery_code(uow: UnitOfWork, deps: IdentityDeps, account: Account, code: str) -> int | None:
    """Mark the matching unused code used; the number still unused, or None when none matched."""
    unused = list(
        uow.session.scalars(
            select(StaffRecoveryCode)
            .where(StaffRecoveryCode.account_id == account.id, StaffRecoveryCode.used_at.is_(None))
            .with_for_update()
        )
    )
    typed = second_factor.normalise_recovery_code(code)
    match = next((row for row in unused if deps.code_hasher.verify(row.code_hash, typed)), None)
    if match is None:
        return None
    match.used_at = uow.clock.now()
    return len(unused) - 1


def pass_second_factor(uow: UnitOfWork, deps: IdentityDeps, command: PassSecondFactor) -> TokenPair:
    """The second step of a staff sign-in: a TOTP code (once per time step) or a recovery code (once)."""
    account = open_challenge(uow, deps, command.challenge_token, SECOND_FACTOR)
    factor = uow.session.get(StaffSecondFactor, account.id, populate_existing=True)
    if factor is None or factor.confirmed_at is None:
        raise SecondFactorNotPending("This account has no active authenticator; sign in again to enrol one.")
    throttle = wait_if_throttled(uow, deps, account)
    if command.recovery_code is not None:
        remaining = _spend_recovery_code(uow, deps, account, command.recovery_code)
        if remaining is None:
            raise refuse_second_factor(uow, account, throttle, "recovery_code", "wrong")
        record_audit(
            uow, str(account.id), "staff.recovery_code_used", target=account.id, details={"remaining": remaining}
        )
        method = "recovery_code"
    else:
        assert command.code is not None  # the schema asks for exactly one of code, recovery_code
        secret = deps.cipher.open(factor.secret_sealed)
        step, replayed = second_factor.matching_step(secret, command.code, uow.clock.now(), after=factor.last_step)
        if step is None or replayed:
            raise refuse_second_factor(uow, account, throttle, "totp", "replayed" if replayed else "wrong")
        factor.last_step = step
        method = "totp"
    forget_failures(uow, [throttle])
    pair = issue_tokens(uow, deps, account)
    record_audit(uow, str(account.id), "staff.signed_in", target=account.id, details={"method": method})
    uow.commit()
    return pair
