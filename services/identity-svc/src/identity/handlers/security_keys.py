"""Staff security keys and passkeys (WebAuthn): a member registers named keys while signed in, lists
and removes their own, and gives a key's signature instead of a code as the second step of a
sign-in. Each ceremony's challenge travels sealed in a short-lived ceremony token and is spent once
(the chassis' ``used_challenges``); refused answers are throttled like wrong codes; every step is on
the staff audit trail."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mai_chassis import Principal, UnitOfWork
from mai_chassis.challenges import SolvedChallenge, spend_once
from mai_chassis.tables import UsedChallenge
from sqlalchemy import func, select

from .. import webauthn_keys
from ..commands import (
    ListSecurityKeys,
    PassSecurityKey,
    RegisterSecurityKey,
    RemoveSecurityKey,
    StartSecurityKeyRegistration,
    StartSecurityKeySignIn,
)
from ..deps import IdentityDeps
from ..domain import AccountKind
from ..errors import (
    Forbidden,
    NotFound,
    SecondFactorChallengeEnded,
    SecondFactorNotPending,
    SecurityKeyCeremonyEnded,
    SecurityKeyExists,
    SecurityKeyLimit,
    SecurityKeyNameTaken,
    SecurityKeyRefused,
)
from ..tables import Account, StaffSecurityKey
from .lookups import aware, load_account, record_audit
from .second_factor import refuse_second_factor, wait_if_throttled
from .sessions import TokenPair, issue_tokens
from .sign_in_challenges import SECOND_FACTOR, open_challenge
from .throttling import forget_failures

__all__ = [
    "SecurityKeyCeremony",
    "SecurityKeyView",
    "list_security_keys",
    "pass_security_key",
    "register_security_key",
    "remove_security_key",
    "start_security_key_registration",
    "start_security_key_sign_in",
]

_KEY_REFUSED = "The security key's answer was not accepted; try again."


@dataclass(frozen=True)
class SecurityKeyCeremony:
    """What the browser needs for ``navigator.credentials``: the options, and the token to send back."""

    public_key: dict[str, Any]
    ceremony_token: str
    expires_in: int


@dataclass(frozen=True)
class SecurityKeyView:
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class _Ceremony:
    account: str
    challenge: bytes
    expires: int


def _relying_party(deps: IdentityDeps) -> webauthn_keys.RelyingParty:
    settings = deps.settings
    return webauthn_keys.RelyingParty(
        id=settings.relying_party_id,
        name=settings.webauthn_rp_name,
        origins=settings.relying_party_origins,
        timeout_ms=settings.webauthn_challenge_seconds * 1000,
    )


def _stored(key: StaffSecurityKey) -> webauthn_keys.StoredKey:
    transports = tuple(key.transports.split(",")) if key.transports else ()
    return webauthn_keys.StoredKey(key.credential_id, key.public_key, key.sign_count, transports)


def _view(key: StaffSecurityKey) -> SecurityKeyView:
    return SecurityKeyView(
        key.id, key.name, aware(key.created_at), aware(key.last_used_at) if key.last_used_at else None
    )


def _keys_of(uow: UnitOfWork, account: Account) -> list[StaffSecurityKey]:
    return list(
        uow.session.scalars(
            select(StaffSecurityKey)
            .where(StaffSecurityKey.account_id == account.id)
            .order_by(StaffSecurityKey.created_at, StaffSecurityKey.name)
        )
    )


def _staff_account(uow: UnitOfWork, principal: Principal) -> Account:
    if not principal.is_staff:
        raise Forbidden("Only staff accounts have security keys.")
    account = load_account(uow, principal.subject, lock=True)
    if account.kind != AccountKind.STAFF or account.disabled_at is not None:
        raise Forbidden("Only staff accounts have security keys.")
    return account


def _ceremony(uow: UnitOfWork, deps: IdentityDeps, account: Account, purpose: str) -> tuple[bytes, str]:
    """A new challenge and the sealed token that carries it until it expires."""
    challenge = webauthn_keys.new_challenge()
    expires = uow.clock.now() + timedelta(seconds=deps.settings.webauthn_challenge_seconds)
    payload = {
        "purpose": purpose,
        "account": str(account.id),
        "challenge": webauthn_keys.encode(challenge),
        "expires": int(expires.timestamp()),
    }
    return challenge, deps.cipher.seal(json.dumps(payload))


def _open_ceremony(uow: UnitOfWork, deps: IdentityDeps, token: str, purpose: str, account: Account) -> _Ceremony | None:
    """The live ceremony ``token`` carries, if it is for ``purpose`` and ``account``; else None."""
    try:
        payload = json.loads(deps.cipher.open(token))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("purpose") != purpose:
        return None
    expires, challenge = payload.get("expires"), payload.get("challenge")
    if payload.get("account") != str(account.id) or not isinstance(expires, int) or not isinstance(challenge, str):
        return None
    if uow.clock.now().timestamp() >= expires:
        return None
    return _Ceremony(str(account.id), webauthn_keys.decode(challenge), expires)


def _spend(uow: UnitOfWork, ceremony: _Ceremony) -> bool:
    """Accept the ceremony's challenge once: False when an answer to it came before."""
    solved = SolvedChallenge("webauthn:" + webauthn_keys.encode(ceremony.challenge), ceremony.expires)
    return spend_once(uow.session, UsedChallenge, solved, uow.clock.now())


# --- registration, while signed in ------------------------------------------------------------


def start_security_key_registration(
    uow: UnitOfWork, deps: IdentityDeps, command: StartSecurityKeyRegistration
) -> SecurityKeyCeremony:
    """Options for ``credentials.create``; the member's keys are excluded, their number limited."""
    account = _staff_account(uow, command.principal)
    keys = _keys_of(uow, account)
    if len(keys) >= deps.settings.security_keys_max:
        raise SecurityKeyLimit(f"You have {len(keys)} security keys; remove one before adding another.")
    challenge, token = _ceremony(uow, deps, account, webauthn_keys.REGISTRATION)
    options = webauthn_keys.registration_options(
        _relying_party(deps),
        challenge,
        user_id=account.id.bytes,
        user_name=account.email,
        display_name=account.display_name,
        existing=[_stored(key) for key in keys],
    )
    record_audit(uow, str(account.id), "staff.security_key_registration_started", target=account.id)
    uow.commit()
    return SecurityKeyCeremony(options, token, deps.settings.webauthn_challenge_seconds)


def register_security_key(uow: UnitOfWork, deps: IdentityDeps, command: RegisterSecurityKey) -> SecurityKeyView:
    """Keep the key ``credentials.create`` made, under the member's name for it; each ceremony answers once."""
    account = _staff_account(uow, command.principal)
    ceremony = _open_ceremony(uow, deps, command.ceremony_token, webauthn_keys.REGISTRATION, account)
    if ceremony is None:
        raise SecurityKeyCeremonyEnded("The registration has expired; start again.")
    name = command.name.strip()
    keys = _keys_of(uow, account)
    if any(key.name.casefold() == name.casefold() for key in keys):
        raise SecurityKeyNameTaken("You already have a security key of that name; choose another.")
    if len(keys) >= deps.settings.security_keys_max:
        raise SecurityKeyLimit(f"You have {len(keys)} security keys; remove one before adding another.")

    def refuse(reason: str, error: Exception) -> Exception:
        record_audit(
            uow,
            str(account.id),
            "staff.security_key_registration_refused",
            target=account.id,
            details={"reason": reason},
        )
        uow.commit()
        return error

    if not _spend(uow, ceremony):
        raise refuse("replayed", SecurityKeyCeremonyEnded("This registration was answered already; start again."))
    try:
        made = webauthn_keys.verify_registration(_relying_party(deps), ceremony.challenge, dict(command.credential))
    except webauthn_keys.KeyRefused as refused:
        raise refuse(refused.reason, SecurityKeyRefused(_KEY_REFUSED)) from None
    taken = uow.session.scalars(
        select(func.count()).select_from(StaffSecurityKey).where(StaffSecurityKey.credential_id == made.credential_id)
    ).one()
    if taken:
        raise refuse("registered", SecurityKeyExists("This security key is registered already."))
    key = StaffSecurityKey(
        id=uuid.uuid4(),
        account_id=account.id,
        name=name,
        credential_id=made.credential_id,
        public_key=made.public_key,
        sign_count=made.sign_count,
        transports=",".join(made.transports) or None,
        aaguid=made.aaguid or None,
        created_at=uow.clock.now(),
    )
    uow.session.add(key)
    record_audit(uow, str(account.id), "staff.security_key_registered", target=account.id, details={"key": str(key.id)})
    uow.commit()
    return _view(key)


def list_security_keys(uow: UnitOfWork, deps: IdentityDeps, command: ListSecurityKeys) -> list[SecurityKeyView]:
    """The member's own keys, oldest first (names and dates only)."""
    account = _staff_account(uow, command.principal)
    return [_view(key) for key in _keys_of(uow, account)]


def remove_security_key(uow: UnitOfWork, deps: IdentityDeps, command: RemoveSecurityKey) -> None:
    """Remove one of the member's own keys; another's key is as unknown as a missing one."""
    account = _staff_account(uow, command.principal)
    try:
        key_id = uuid.UUID(command.key_id)
    except ValueError:
        raise NotFound("No such security key.") from None
    key = uow.session.get(StaffSecurityKey, key_id, with_for_update=True)
    if key is None or key.account_id != account.id:
        raise NotFound("No such security key.")
    uow.session.delete(key)
    record_audit(uow, str(account.id), "staff.security_key_removed", target=account.id, details={"key": str(key_id)})
    uow.commit()


# --- the second step of a sign-in -------------------------------------------------------------


def start_security_key_sign_in(
    uow: UnitOfWork, deps: IdentityDeps, command: StartSecurityKeySignIn
) -> SecurityKeyCeremony:
    """Options for ``credentials.get`` naming the member's keys, for a sign-in at its second step."""
    account = open_challenge(uow, deps, command.challenge_token, SECOND_FACTOR)
    keys = _keys_of(uow, account)
    if not keys:
        raise SecondFactorNotPending("This account has no security key; give the code of the authenticator app.")
    wait_if_throttled(uow, deps, account)
    challenge, token = _ceremony(uow, deps, account, webauthn_keys.SIGN_IN)
    options = webauthn_keys.authentication_options(_relying_party(deps), challenge, [_stored(key) for key in keys])
    record_audit(uow, str(account.id), "staff.security_key_sign_in_started", target=account.id)
    uow.commit()
    return SecurityKeyCeremony(options, token, deps.settings.webauthn_challenge_seconds)


def pass_security_key(uow: UnitOfWork, deps: IdentityDeps, command: PassSecurityKey) -> TokenPair:
    """End a staff sign-in with a key's signature over the ceremony's challenge (once; its counter grown)."""
    account = open_challenge(uow, deps, command.challenge_token, SECOND_FACTOR)
    ceremony = _open_ceremony(uow, deps, command.ceremony_token, webauthn_keys.SIGN_IN, account)
    if ceremony is None:
        raise SecondFactorChallengeEnded("The security key's challenge has expired; try the key again.")
    throttle = wait_if_throttled(uow, deps, account)

    def refuse(reason: str) -> Exception:
        return refuse_second_factor(uow, account, throttle, "security_key", reason, _KEY_REFUSED)

    if not _spend(uow, ceremony):
        raise refuse("replayed")
    answer = dict(command.credential)
    try:
        credential_id = webauthn_keys.credential_id_of(answer)
    except webauthn_keys.KeyRefused as refused:
        raise refuse(refused.reason) from None
    key = uow.session.scalars(
        select(StaffSecurityKey)
        .where(StaffSecurityKey.account_id == account.id, StaffSecurityKey.credential_id == credential_id)
        .with_for_update()
    ).first()
    if key is None:
        raise refuse("unknown_key")
    try:
        used = webauthn_keys.verify_sign_in(_relying_party(deps), ceremony.challenge, answer, _stored(key))
    except webauthn_keys.KeyRefused as refused:
        raise refuse(refused.reason) from None
    key.sign_count, key.last_used_at = used.sign_count, uow.clock.now()
    forget_failures(uow, [throttle])
    pair = issue_tokens(uow, deps, account)
    record_audit(
        uow,
        str(account.id),
        "staff.signed_in",
        target=account.id,
        details={"method": "security_key", "key": str(key.id)},
    )
    uow.commit()
    return pair
