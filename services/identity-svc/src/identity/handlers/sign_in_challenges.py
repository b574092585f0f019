"""The short-lived token between a staff member's password and their second factor.

It is sealed (encrypted and authenticated) with the service's field cipher, names the account, what
it allows (``second_factor``: give a code, or a security key's signature; ``enrolment``: enrol a
factor, nothing else) and when it ends. It is never a session: no API but the second-factor ones
accepts it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from mai_chassis import UnitOfWork
from sqlalchemy import select

from ..deps import IdentityDeps
from ..errors import SecondFactorChallengeEnded
from ..tables import Account, StaffSecondFactor, StaffSecurityKey
from .lookups import load_account

__all__ = [
    "ENROLMENT",
    "SECOND_FACTOR",
    "SecondFactorChallenge",
    "open_challenge",
    "second_factor_methods",
    "sign_in_challenge",
]

SECOND_FACTOR = "second_factor"
ENROLMENT = "enrolment"


@dataclass(frozen=True)
class SecondFactorChallenge:
    """What a right staff password gives instead of tokens."""

    challenge_token: str
    step: str  # second_factor | enrolment
    expires_in: int
    methods: tuple[str, ...]


def second_factor_methods(uow: UnitOfWork, account: Account) -> tuple[str, ...]:
    """The second factors a staff member has: ``totp`` (with ``recovery_code``), ``security_key``; none: ()."""
    methods: tuple[str, ...] = ()
    factor = uow.session.get(StaffSecondFactor, account.id)
    if factor is not None and factor.confirmed_at is not None:
        methods += ("totp", "recovery_code")
    if uow.session.scalars(select(StaffSecurityKey.id).where(StaffSecurityKey.account_id == account.id)).first():
        methods += ("security_key",)
    return methods


def sign_in_challenge(uow: UnitOfWork, deps: IdentityDeps, account: Account, step: str) -> SecondFactorChallenge:
    seconds = deps.settings.second_factor_challenge_seconds
    expires = uow.clock.now() + timedelta(seconds=seconds)
    payload = {"account": str(account.id), "step": step, "expires": int(expires.timestamp()), "n": uuid.uuid4().hex}
    methods = second_factor_methods(uow, account) if step == SECOND_FACTOR else ("totp_enrolment",)
    return SecondFactorChallenge(deps.cipher.seal(json.dumps(payload)), step, seconds, methods)


def open_challenge(uow: UnitOfWork, deps: IdentityDeps, token: str, step: str) -> Account:
    """The account a live challenge token for ``step`` names (locked), else :class:`SecondFactorChallengeEnded`."""
    ended = SecondFactorChallengeEnded("The sign-in has expired or is not at this step; sign in again.")
    try:
        payload = json.loads(deps.cipher.open(token))
    except ValueError:
        raise ended from None
    if not isinstance(payload, dict) or payload.get("step") != step:
        raise ended
    expires = payload.get("expires")
    if not isinstance(expires, int) or uow.clock.now().timestamp() >= expires:
        raise ended
    account = load_account(uow, str(payload.get("account")), lock=True)
    if account.disabled_at is not None or account.kind != "staff":
        raise ended
    return account
