"""Use cases of identity-svc, one function each, run inside a unit of work.

A handler that must remember a failure (a wrong code's attempt, a failed login) commits before it
raises; every other handler commits once at its end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mai_chassis import Principal, Problem, UnitOfWork
from mai_chassis.challenges import ChallengeVerifier, challenge_required, client_key, count_in_window, spend_once
from mai_chassis.sealing import Sealer
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from . import domain
from .config import Settings
from .domain import AccountKind, AssuranceLevel, CivilStatus, MailCodePurpose, StaffRole, VerificationMethod
from .eid import AssuranceTooLow, IdentificationRefused, OpenIdProvider, ProviderUnavailable, subject_digest
from .protection import FieldCipher, MailCodeHasher, SecretHasher, digest
from .signing import KeyRing
from .tables import (
    Account,
    CivilStatusRecord,
    CounterCode,
    FormRequests,
    IdentityVerification,
    LoginThrottle,
    MailChallenge,
    RefreshToken,
    SpentChallenge,
    StaffAuditEntry,
    StaffRoleGrant,
    VerificationAttempt,
)

logger = logging.getLogger(__name__)

REGISTERED = "ro.mai.account.registered.v1"
REGISTRATION_REPEATED = "ro.mai.account.registration_repeated.v1"
CONFIRMATION_REQUESTED = "ro.mai.account.email_confirmation_requested.v1"
RESET_REQUESTED = "ro.mai.account.password_reset_requested.v1"
IDENTITY_VERIFIED = "ro.mai.identity.verified.v1"
LOGIN_THROTTLED = "ro.mai.account.login_throttled.v1"

_ADDRESS_WINDOW = timedelta(hours=1)
_ACCOUNT_WINDOW = timedelta(hours=24)


@dataclass
class Runtime:
    """What the handlers need besides the unit of work, built once per process."""

    settings: Settings
    hasher: SecretHasher
    code_hasher: MailCodeHasher
    cipher: FieldCipher
    sealer: Sealer
    keys: KeyRing
    providers: dict[str, OpenIdProvider]
    #: Asked of clients past ``settings.form_challenge_after`` anonymous mail-sending forms (None: never).
    challenge: ChallengeVerifier | None = None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    device_token: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _recipient(account: Account) -> dict[str, str]:
    return {"email": account.email, "name": account.display_name, "language": account.language}


def _audit(
    uow: UnitOfWork,
    actor: str | None,
    action: str,
    *,
    target: uuid.UUID | None = None,
    unit: str | None = None,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    uow.session.add(
        StaffAuditEntry(
            actor_id=uuid.UUID(actor) if actor else None,
            action=action,
            target_account_id=target,
            unit=unit,
            details=json.dumps(details, ensure_ascii=False) if details else None,
            request_id=request_id,
            at=_now(),
        )
    )


def _account_by_email(uow: UnitOfWork, email: str) -> Account | None:
    return uow.session.scalars(select(Account).where(Account.email == domain.normalise_email(email))).first()


def _account(uow: UnitOfWork, account_id: str | uuid.UUID, *, lock: bool = False) -> Account:
    try:
        key = account_id if isinstance(account_id, uuid.UUID) else uuid.UUID(str(account_id))
    except ValueError:
        raise Problem(404, "No such account.", kind="not-found") from None
    statement = select(Account).where(Account.id == key)
    if lock:
        # Read again under the lock: what this session loaded before may be stale by now.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    account = uow.session.scalars(statement).first()
    if account is None:
        raise Problem(404, "No such account.", kind="not-found")
    return account


# --- registration and e-mail ownership --------------------------------------------------------


def _new_mail_challenge(
    uow: UnitOfWork, rt: Runtime, account: Account, purpose: MailCodePurpose
) -> tuple[str, datetime]:
    now = _now()
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
    expires = now + timedelta(seconds=rt.settings.mail_code_seconds)
    uow.session.add(
        MailChallenge(
            account_id=account.id,
            purpose=purpose.value,
            code_hash=rt.code_hasher.hash(code),
            attempts=0,
            expires_at=expires,
            created_at=now,
        )
    )
    return code, expires


def _request_confirmation(uow: UnitOfWork, rt: Runtime, account: Account, reason: str) -> None:
    code, expires = _new_mail_challenge(uow, rt, account, MailCodePurpose.EMAIL_CONFIRMATION)
    uow.publish(
        CONFIRMATION_REQUESTED,
        subject=str(account.id),
        data={
            "citizen_id": str(account.id),
            "reason": reason,
            "sealed_confirmation": rt.sealer.seal(code),
            "expires_at": _iso(expires),
            "recipient": _recipient(account),
        },
    )


def admit_anonymous_form(uow: UnitOfWork, rt: Runtime, *, address: str | None, answer: str | None) -> None:
    """Count an anonymous form that creates an account or sends mail against its client, and ask a
    client past the threshold for a solved challenge (when one is configured; otherwise nothing is
    counted). Raised inside the request's unit of work, a refusal rolls the count back with it."""
    if rt.challenge is None:
        return
    settings, now = rt.settings, _now()
    window = timedelta(seconds=settings.form_challenge_window_seconds)
    requests = count_in_window(uow.session, FormRequests, client_key(None, address), now, window)
    if requests > settings.form_challenge_after and not spend_once(
        uow.session, SpentChallenge, rt.challenge.check(answer), now
    ):
        raise challenge_required(
            rt.challenge,
            "Many account or e-mail requests came from your connection recently. Solve the challenge and send "
            "the form again, or try again later.",
        )


def register_citizen(
    uow: UnitOfWork,
    rt: Runtime,
    *,
    email: str,
    password: str,
    last_name: str,
    first_name: str,
    cnp: str,
    language: str = "ro",
    channel: str = "web",
) -> None:
    """Create an unconfirmed citizen account; for a taken address, tell its owner instead.

    Both paths hash the password, so the answer's timing does not reveal which one ran.
    """
    cnp = domain.validate_cnp(cnp)
    password_hash = rt.hasher.hash(password)
    existing = _account_by_email(uow, email)
    now = _now()
    if existing is not None:
        if existing.kind == AccountKind.CITIZEN:
            uow.publish(
                REGISTRATION_REPEATED,
                subject=str(existing.id),
                data={"citizen_id": str(existing.id), "attempted_at": _iso(now), "recipient": _recipient(existing)},
            )
        uow.commit()
        return
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CITIZEN.value,
        email=domain.normalise_email(email),
        display_name=f"{first_name} {last_name}".strip(),
        language=language,
        password_hash=password_hash,
        assurance_level=AssuranceLevel.NONE.value,
        created_at=now,
    )
    uow.session.add(account)
    uow.session.add(
        CivilStatusRecord(
            account_id=account.id,
            last_name=last_name,
            first_name=first_name,
            cnp_sealed=rt.cipher.seal(cnp),
            birth_date=domain.birth_date_of(cnp),
            citizenship="RO",
            updated_at=now,
        )
    )
    uow.flush()
    uow.publish(
        REGISTERED,
        subject=str(account.id),
        data={
            "citizen_id": str(account.id),
            "channel": channel,
            "registered_at": _iso(now),
            "recipient": _recipient(account),
        },
    )
    _request_confirmation(uow, rt, account, "registered")
    uow.commit()


def _use_mail_code(uow: UnitOfWork, rt: Runtime, account: Account | None, purpose: MailCodePurpose, code: str) -> None:
    """Spend one attempt of the open challenge; commits the attempt; raises when refused."""
    refused = Problem(400, "The code is wrong, expired or used up; ask for a new one.", kind="code-refused")
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
    if (
        challenge is None
        or _aware(challenge.expires_at) < _now()
        or challenge.attempts >= rt.settings.mail_code_attempts
    ):
        rt.code_hasher.verify(None, code)  # same work as a real check
        raise refused
    challenge.attempts += 1
    if not rt.code_hasher.verify(challenge.code_hash, domain.canonical_code(code)):
        if challenge.attempts >= rt.settings.mail_code_attempts:
            challenge.finished_at = _now()
        uow.commit()
        raise refused
    challenge.finished_at = _now()


def confirm_email(uow: UnitOfWork, rt: Runtime, *, citizen_id: str, code: str) -> None:
    try:
        account: Account | None = _account(uow, citizen_id, lock=True)
    except Problem:
        account = None
    _use_mail_code(uow, rt, account, MailCodePurpose.EMAIL_CONFIRMATION, code)
    assert account is not None
    if account.email_confirmed_at is None:
        account.email_confirmed_at = _now()
    uow.commit()


def resend_confirmation(uow: UnitOfWork, rt: Runtime, *, email: str) -> None:
    account = _account_by_email(uow, email)
    if account is not None and account.kind == AccountKind.CITIZEN and account.email_confirmed_at is None:
        _request_confirmation(uow, rt, account, "resent")
    uow.commit()


# --- login, sessions, password reset -----------------------------------------------------------


def _throttle_upsert(uow: UnitOfWork, scope: str, window: timedelta) -> None:
    now = _now()
    dialect = uow.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = LoginThrottle.__table__
    fresh = table.c.last_failure_at < now - window

    statement = insert(table).values(scope=scope, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.scope],
        set_={"failures": case((fresh, 1), else_=table.c.failures + 1), "last_failure_at": now},
    )
    uow.session.execute(statement)


@dataclass(frozen=True)
class _Throttle:
    """Failed logins counted together: ``free`` of them within ``window``, then each try waits."""

    scope: str
    free: int
    window: timedelta
    owner_hears: bool = True  # the account's owner is mailed when it starts slowing logins down


def _client_scope_prefix(email_key: str) -> str:
    return "client:" + digest(email_key)[:32] + ":"


def _login_throttles(rt: Runtime, email_key: str, address: str, device: str | None) -> list[_Throttle]:
    """Who waits after failed logins, such that a stranger cannot lock the owner out.

    A device where the account logged in before (it holds a device token) answers only for its own
    failures. Any other client answers for its own failures on the account (by address), for the
    failures of every client the account does not know, together (a guess spread over many
    addresses), and for its address's failures across accounts (one client trying many).
    """
    settings = rt.settings
    if device is not None:
        return [_Throttle("device:" + device, settings.account_free_failures, _ACCOUNT_WINDOW)]
    client = _client_scope_prefix(email_key) + digest(address)[:32]
    return [
        _Throttle(client, settings.account_free_failures, _ACCOUNT_WINDOW),
        _Throttle("account:" + email_key, settings.unknown_client_free_failures, _ACCOUNT_WINDOW),
        _Throttle("address:" + address, settings.address_free_failures, _ADDRESS_WINDOW, owner_hears=False),
    ]


def _lock_remaining(uow: UnitOfWork, rt: Runtime, throttle: _Throttle) -> float:
    row = uow.session.get(LoginThrottle, throttle.scope, populate_existing=True)
    if row is None or row.last_failure_at is None or _aware(row.last_failure_at) < _now() - throttle.window:
        return 0.0
    ends = domain.lock_ends(
        _aware(row.last_failure_at),
        row.failures,
        free=throttle.free,
        maximum=timedelta(seconds=rt.settings.lockout_max_seconds),
    )
    return max(0.0, (ends - _now()).total_seconds()) if ends else 0.0


def _device_token(rt: Runtime, account: Account, device: str | None) -> str:
    """A token naming this device for this account (sealed: it cannot be forged or moved)."""
    payload = {"account": str(account.id), "device": device or uuid.uuid4().hex, "issued": int(_now().timestamp())}
    return rt.cipher.seal(json.dumps(payload))


def _known_device(rt: Runtime, token: str | None, account: Account | None) -> str | None:
    """The id of the device ``token`` names, if it is this account's and not too old."""
    if not token or account is None:
        return None
    try:
        payload = json.loads(rt.cipher.open(token))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("account") != str(account.id):
        return None
    issued, device = payload.get("issued"), payload.get("device")
    if not isinstance(issued, int) or not isinstance(device, str):
        return None
    if _now().timestamp() - issued > rt.settings.device_token_days * 86400:
        return None
    return f"{account.id}:{device}"


def _tell_owner_of_failed_logins(uow: UnitOfWork, rt: Runtime, account: Account, throttles: list[_Throttle]) -> None:
    """Mail the owner once a day at most, when failed logins start slowing logins to the account down."""
    counted = [(t, uow.session.get(LoginThrottle, t.scope, populate_existing=True)) for t in throttles if t.owner_hears]
    failures = [row.failures for t, row in counted if row is not None and row.failures >= t.free]
    if not failures:
        return
    notice = uow.session.get(LoginThrottle, f"notice:{account.id}", populate_existing=True)
    if notice is not None and notice.last_failure_at and _aware(notice.last_failure_at) >= _now() - _ACCOUNT_WINDOW:
        return
    _throttle_upsert(uow, f"notice:{account.id}", _ACCOUNT_WINDOW)
    uow.publish(
        LOGIN_THROTTLED,
        subject=str(account.id),
        data={
            "account_id": str(account.id),
            "failed_attempts": max(failures),
            "throttled_at": _iso(_now()),
            "recipient": _recipient(account),
        },
    )


def _access_claims(uow: UnitOfWork, rt: Runtime, account: Account) -> dict[str, Any]:
    now = int(_now().timestamp())
    claims: dict[str, Any] = {
        "iss": rt.settings.jwt_issuer,
        "aud": rt.settings.jwt_audience,
        "sub": str(account.id),
        "kind": account.kind,
        "roles": [],
        "acr": account.assurance_level,
        "typ": "access",
        "iat": now,
        "exp": now + rt.settings.access_token_seconds,
        "jti": uuid.uuid4().hex,
    }
    if account.kind == AccountKind.STAFF:
        grants = uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id == account.id))
        claims["roles"] = sorted(f"{g.role}@{g.unit}" for g in grants)
    return claims


def _issue_tokens(
    uow: UnitOfWork,
    rt: Runtime,
    account: Account,
    *,
    family: uuid.UUID | None = None,
    session_expires: datetime | None = None,
) -> TokenPair:
    now = _now()
    refresh = secrets.token_urlsafe(32)
    session_expires = session_expires or now + timedelta(seconds=rt.settings.session_max_seconds)
    uow.session.add(
        RefreshToken(
            digest=digest(refresh),
            family_id=family or uuid.uuid4(),
            account_id=account.id,
            issued_at=now,
            expires_at=min(now + timedelta(seconds=rt.settings.refresh_token_seconds), session_expires),
            session_expires_at=session_expires,
        )
    )
    return TokenPair(rt.keys.sign(_access_claims(uow, rt, account)), refresh, rt.settings.access_token_seconds)


def log_in(
    uow: UnitOfWork, rt: Runtime, *, email: str, password: str, address: str, device_token: str | None = None
) -> TokenPair:
    account = _account_by_email(uow, email)
    device = _known_device(rt, device_token, account)
    throttles = _login_throttles(rt, domain.normalise_email(email), address, device)
    wait = max(_lock_remaining(uow, rt, throttle) for throttle in throttles)
    if wait > 0:
        seconds = int(wait) + 1
        raise Problem(
            429,
            "Too many failed logins; wait before trying again.",
            kind="login-throttled",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )
    good = rt.hasher.verify(account.password_hash if account else None, password)
    if not good or account is None:
        for throttle in throttles:
            _throttle_upsert(uow, throttle.scope, throttle.window)
        if account is not None:
            _tell_owner_of_failed_logins(uow, rt, account, throttles)
        uow.commit()
        raise Problem(401, "The e-mail address or the password is wrong.", kind="login-refused")
    if account.disabled_at is not None:
        raise Problem(403, "This account is disabled.", kind="account-disabled")
    if account.email_confirmed_at is None:
        raise Problem(403, "Confirm your e-mail address first; we sent you a code.", kind="email-unconfirmed")
    if account.password_hash and rt.hasher.needs_rehash(account.password_hash):
        account.password_hash = rt.hasher.hash(password)
    uow.session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope.in_([t.scope for t in throttles if t.owner_hears]))
    )
    pair = _issue_tokens(uow, rt, account)
    uow.commit()
    return replace(pair, device_token=_device_token(rt, account, device.split(":", 1)[1] if device else None))


def _revoke_family(uow: UnitOfWork, family_id: uuid.UUID) -> None:
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def refresh_session(uow: UnitOfWork, rt: Runtime, *, refresh_token: str) -> TokenPair:
    """Rotate the refresh token; a token already rotated means theft: the whole session ends."""
    refused = Problem(401, "The session has ended; log in again.", kind="session-ended")
    row = uow.session.scalars(
        select(RefreshToken).where(RefreshToken.digest == digest(refresh_token)).with_for_update()
    ).first()
    if row is None:
        raise refused
    if row.rotated_at is not None or row.revoked_at is not None:
        if row.rotated_at is not None:
            logger.warning("rotated refresh token reused; session family %s revoked", row.family_id)
        _revoke_family(uow, row.family_id)
        uow.commit()
        raise refused
    if _aware(row.expires_at) < _now():
        raise refused
    account = _account(uow, row.account_id)
    if account.disabled_at is not None:
        raise refused
    row.rotated_at = _now()
    pair = _issue_tokens(uow, rt, account, family=row.family_id, session_expires=_aware(row.session_expires_at))
    uow.commit()
    return pair


def log_out(uow: UnitOfWork, *, refresh_token: str) -> None:
    row = uow.session.scalars(select(RefreshToken).where(RefreshToken.digest == digest(refresh_token))).first()
    if row is not None:
        _revoke_family(uow, row.family_id)
    uow.commit()


def _request_reset(uow: UnitOfWork, rt: Runtime, account: Account, purpose: str) -> None:
    code, expires = _new_mail_challenge(uow, rt, account, MailCodePurpose.PASSWORD_RESET)
    uow.publish(
        RESET_REQUESTED,
        subject=str(account.id),
        data={
            "account_id": str(account.id),
            "purpose": purpose,
            "sealed_reset": rt.sealer.seal(code),
            "expires_at": _iso(expires),
            "recipient": _recipient(account),
        },
    )


def request_password_reset(uow: UnitOfWork, rt: Runtime, *, email: str) -> None:
    account = _account_by_email(uow, email)
    if account is not None and account.disabled_at is None:
        _request_reset(uow, rt, account, "password_reset")
    uow.commit()


def reset_password(uow: UnitOfWork, rt: Runtime, *, email: str, code: str, new_password: str) -> None:
    """Set a new password with a mailed code; every session of the account ends."""
    account = _account_by_email(uow, email)
    _use_mail_code(uow, rt, account, MailCodePurpose.PASSWORD_RESET, code)
    assert account is not None
    account.password_hash = rt.hasher.hash(new_password)
    if account.email_confirmed_at is None:
        account.email_confirmed_at = _now()  # the code reached the mailbox
    # The owner proved the mailbox: failed logins counted against the account stop slowing them down.
    email_key = domain.normalise_email(email)
    uow.session.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.scope == "account:" + email_key)
            | LoginThrottle.scope.startswith(_client_scope_prefix(email_key), autoescape=True)
        )
    )
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    uow.commit()


# --- civil-status profile ---------------------------------------------------------------------


def _civil_status(rt: Runtime, record: CivilStatusRecord) -> CivilStatus:
    return CivilStatus(
        last_name=record.last_name,
        first_name=record.first_name,
        cnp=rt.cipher.open(record.cnp_sealed),
        birth_date=record.birth_date,
        birth_place=record.birth_place,
        father_first_name=record.father_first_name,
        mother_first_name=record.mother_first_name,
        citizenship=record.citizenship,
        address=record.address,
    )


def _own_record(
    uow: UnitOfWork, principal: Principal, citizen_id: str, *, lock: bool = False
) -> tuple[Account, CivilStatusRecord]:
    """A citizen sees only their own profile; anyone else is told it does not exist.

    ``lock`` takes the account row for the transaction: every writer of the profile and every
    verification holds it, so an edit and a verification never interleave.
    """
    if principal.kind != AccountKind.CITIZEN or citizen_id not in ("me", principal.subject):
        raise Problem(404, "No such profile.", kind="not-found")
    account = _account(uow, principal.subject, lock=lock)
    record = uow.session.get(CivilStatusRecord, account.id)
    if record is None:
        raise Problem(404, "No such profile.", kind="not-found")
    return account, record


def profile_view(account: Account, civil: CivilStatus, *, with_cnp: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "citizen_id": str(account.id),
        "email": account.email,
        "last_name": civil.last_name,
        "first_name": civil.first_name,
        "birth_date": civil.birth_date,
        "birth_place": civil.birth_place,
        "father_first_name": civil.father_first_name,
        "mother_first_name": civil.mother_first_name,
        "citizenship": civil.citizenship,
        "address": civil.address,
        "assurance_level": account.assurance_level,
        "verified": account.verified_at is not None,
        "verified_at": account.verified_at,
    }
    if with_cnp:
        view["cnp"] = civil.cnp
    else:
        view["cnp_last_digits"] = civil.cnp[-4:]
    return view


def read_profile(
    uow: UnitOfWork, rt: Runtime, principal: Principal, citizen_id: str, *, with_cnp: bool = False
) -> dict[str, Any]:
    account, record = _own_record(uow, principal, citizen_id)
    return profile_view(account, _civil_status(rt, record), with_cnp=with_cnp)


def update_profile(
    uow: UnitOfWork, rt: Runtime, principal: Principal, citizen_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    account, record = _own_record(uow, principal, citizen_id, lock=True)
    frozen = domain.identity_freeze(
        verified=account.verified_at is not None, verification_pending=_verification_pending(uow, account)
    )
    try:
        civil = _civil_status(rt, record).changed(changes, frozen=frozen)
    except domain.IdentityFrozenError as exc:
        raise Problem(
            409,
            "Identity fields cannot change after the identity is verified."
            if exc.reason is domain.IdentityFreeze.VERIFIED
            else "Identity fields cannot change while an identity verification is under way; "
            "finish it or wait until it expires.",
            kind="identity-locked",
            fields=exc.fields,
            reason=exc.reason.value,
        ) from None
    except domain.InvalidCnpError as exc:
        raise Problem(422, "The CNP is not valid.", kind="validation-error", errors={"cnp": [str(exc)]}) from None
    except ValueError as exc:
        raise Problem(422, str(exc), kind="validation-error", errors={"birth_date": [str(exc)]}) from None
    record.last_name, record.first_name = civil.last_name, civil.first_name
    record.cnp_sealed = rt.cipher.seal(civil.cnp) if "cnp" in changes else record.cnp_sealed
    record.birth_date, record.birth_place = civil.birth_date, civil.birth_place
    record.father_first_name, record.mother_first_name = civil.father_first_name, civil.mother_first_name
    record.citizenship, record.address, record.updated_at = civil.citizenship, civil.address, _now()
    if {"last_name", "first_name"} & set(changes):
        account.display_name = f"{civil.first_name} {civil.last_name}"
    uow.commit()
    return profile_view(account, civil, with_cnp=False)


# --- identity verification --------------------------------------------------------------------


def _verification_pending(uow: UnitOfWork, account: Account) -> bool:
    """A verification was started for the account and has neither finished nor expired."""
    pending = uow.session.scalars(
        select(VerificationAttempt.id)
        .where(
            VerificationAttempt.account_id == account.id,
            VerificationAttempt.finished_at.is_(None),
            VerificationAttempt.expires_at > _now(),
        )
        .limit(1)
    ).first()
    return pending is not None


def _mark_verified(
    uow: UnitOfWork,
    account: Account,
    *,
    method: VerificationMethod,
    assurance: str,
    provider: str | None = None,
    unit: str | None = None,
    clerk_id: str | None = None,
    document_type: str | None = None,
    document_number_sealed: str | None = None,
    subject_digest: str | None = None,
) -> None:
    now = _now()
    account.verified_at = now
    account.assurance_level = assurance
    uow.session.add(
        IdentityVerification(
            account_id=account.id,
            method=method.value,
            provider=provider,
            unit=unit,
            clerk_id=uuid.UUID(clerk_id) if clerk_id else None,
            document_type=document_type,
            document_number_sealed=document_number_sealed,
            assurance_level=assurance,
            subject_digest=subject_digest,
            verified_at=now,
        )
    )
    data: dict[str, Any] = {
        "citizen_id": str(account.id),
        "method": method.value,
        "assurance_level": assurance,
        "verified_at": _iso(now),
        "recipient": _recipient(account),
    }
    if provider:
        data["provider"] = provider
    if unit:
        data["unit"] = unit
    uow.publish(IDENTITY_VERIFIED, subject=str(account.id), data=data)


def _unverified_citizen(uow: UnitOfWork, principal: Principal) -> Account:
    if principal.kind != AccountKind.CITIZEN:
        raise Problem(403, "Identity verification is for citizen accounts.", kind="forbidden")
    account = _account(uow, principal.subject, lock=True)
    if account.verified_at is not None:
        raise Problem(409, "The identity is already verified.", kind="already-verified")
    return account


def _provider(rt: Runtime, name: str) -> OpenIdProvider:
    provider = rt.providers.get(name)
    if provider is None:
        raise Problem(
            422,
            "Unknown identification provider.",
            kind="validation-error",
            errors={"provider": [f"one of {sorted(rt.providers)}"]},
        )
    return provider


def _provider_unavailable() -> Problem:
    return Problem(
        503,
        "The identification provider cannot be reached; try again in a few minutes.",
        kind="provider-unavailable",
        headers={"Retry-After": "30"},
    )


def start_verification(
    uow: UnitOfWork, rt: Runtime, principal: Principal, *, provider_name: str, redirect_uri: str | None
) -> dict[str, Any]:
    """Send the citizen to an OpenID Connect provider: an attempt bound to this account.

    ``state`` is returned once (the portal keeps it in its session) and only its digest is stored;
    the nonce and the sealed PKCE verifier stay here until the callback.
    """
    provider = _provider(rt, provider_name)
    redirect_uri = redirect_uri or provider.redirect_uris[0]
    if redirect_uri not in provider.redirect_uris:
        raise Problem(
            422,
            "This redirect URI is not registered for the provider.",
            kind="validation-error",
            errors={"redirect_uri": ["must be one of the provider's registered redirect URIs"]},
        )
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    try:  # the provider's metadata may need a request: before any row is locked
        authorization_url = provider.authorization_url(
            state=state, nonce=nonce, code_verifier=verifier, redirect_uri=redirect_uri
        )
    except ProviderUnavailable as exc:
        logger.warning("identification provider %s unavailable: %s", provider.name, exc)
        raise _provider_unavailable() from None
    account = _unverified_citizen(uow, principal)
    expires = _now() + timedelta(seconds=rt.settings.verification_seconds)
    attempt = VerificationAttempt(
        account_id=account.id,
        provider=provider.name,
        state_digest=digest(state),
        nonce=nonce,
        code_verifier_sealed=rt.cipher.seal(verifier),
        redirect_uri=redirect_uri,
        expires_at=expires,
        created_at=_now(),
    )
    uow.session.add(attempt)
    uow.commit()
    return {
        "verification_id": str(attempt.id),
        "provider": provider.name,
        "authorization_url": authorization_url,
        "state": state,
        "expires_at": expires,
    }


def _subject_key(rt: Runtime) -> bytes:
    """The key of provider-subject digests (a provider's ``sub`` may be a CNP: never stored plain).

    Derived from the newest encryption key: after a rotation of ``IDENTITY_ENCRYPTION_KEYS`` the
    digests of earlier verifications no longer match new ones (the one-account-per-person check
    then covers verifications made since the rotation).
    """
    newest = rt.settings.encryption_keys[0].strip().encode()
    return hmac.new(newest, b"identity eid subjects v1", hashlib.sha256).digest()


def finish_verification(
    uow: UnitOfWork,
    rt: Runtime,
    principal: Principal,
    *,
    state: str,
    code: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The provider sent the citizen back: redeem the code for an ID token and verify on a match.

    The attempt that ``state`` names must belong to the caller's account and be open; it is spent
    whatever the outcome (a provider that cannot be reached leaves it open for a retry).
    """
    attempt = uow.session.scalars(
        select(VerificationAttempt).where(VerificationAttempt.state_digest == digest(state)).with_for_update()
    ).first()
    not_found = Problem(404, "No such identity verification.", kind="not-found")
    if attempt is None or principal.kind != AccountKind.CITIZEN:
        raise not_found

    def fail(outcome: str, problem: Problem) -> Problem:
        attempt.finished_at, attempt.outcome = _now(), outcome[:32]
        uow.commit()
        logger.info("identity verification %s refused: %s (provider %s)", attempt.id, outcome, attempt.provider)
        return problem

    if str(attempt.account_id) != principal.subject:
        # Another account holds this state: the redirect reached someone who did not start it.
        # The attempt is spent, so that a code issued to that person cannot be redeemed later.
        if attempt.finished_at is None:
            raise fail("presented-by-another-account", not_found)
        raise not_found
    if attempt.finished_at is not None:
        raise Problem(409, "This identity verification was already used; start a new one.", kind="verification-used")
    if _aware(attempt.expires_at) < _now():
        expired = Problem(410, "The identity verification expired; start a new one.", kind="verification-expired")
        raise fail("expired", expired)
    provider = rt.providers.get(attempt.provider)
    if provider is None or not attempt.code_verifier_sealed or not attempt.redirect_uri:
        raise fail("provider-gone", Problem(409, "Start a new identity verification.", kind="verification-used"))
    if error is not None or not code:
        raise fail(
            "provider-error",
            Problem(
                400,
                "The identification provider did not identify you.",
                kind="provider-error",
                provider_error=error or "no_code",
            ),
        )
    try:
        person = provider.identify(
            code=code,
            code_verifier=rt.cipher.open(attempt.code_verifier_sealed),
            redirect_uri=attempt.redirect_uri,
            nonce=attempt.nonce,
        )
    except ProviderUnavailable as exc:
        logger.warning("identification provider %s unavailable: %s", provider.name, exc)
        raise _provider_unavailable() from None
    except AssuranceTooLow as exc:
        raise fail(
            "assurance-too-low",
            Problem(
                422,
                "The provider identified you at a lower level of assurance than identity verification needs.",
                kind="assurance-too-low",
                asserted=exc.asserted,
                required=exc.required,
            ),
        ) from None
    except IdentificationRefused as exc:
        raise fail(
            "refused:" + str(exc)[:23],
            Problem(400, "The identification answer cannot be accepted.", kind="identification-refused"),
        ) from None

    # The invariant: an account is verified only with the identity the provider asserted, checked
    # under locks on the account and its civil-status row, so no concurrent edit slips between.
    account = _account(uow, attempt.account_id, lock=True)
    record = uow.session.get(CivilStatusRecord, account.id, with_for_update=True)
    if account.verified_at is not None or record is None:
        raise fail("already-verified", Problem(409, "The identity is already verified.", kind="already-verified"))
    try:
        domain.assert_identity_matches(
            _civil_status(rt, record),
            cnp=person.cnp,
            last_name=person.last_name,
            first_name=person.first_name,
            birth_date=person.birth_date,
        )
    except domain.IdentityMismatchError as exc:
        raise fail(
            "mismatch",
            Problem(
                422,
                "The identified person does not match the account's civil-status data.",
                kind="identity-mismatch",
                fields=str(exc).split(", "),
            ),
        ) from None
    subject = subject_digest(_subject_key(rt), provider.name, person.subject)
    in_use = Problem(409, "This person's identity already verifies another account.", kind="identity-in-use")
    taken = uow.session.scalars(
        select(IdentityVerification.id).where(
            IdentityVerification.provider == provider.name, IdentityVerification.subject_digest == subject
        )
    ).first()
    if taken is not None:
        raise fail("identity-in-use", in_use)
    try:
        with uow.session.begin_nested():  # another account verified by the same person at this moment
            _mark_verified(
                uow,
                account,
                method=VerificationMethod.EID_PROVIDER,
                assurance=person.assurance,
                provider=provider.name,
                subject_digest=subject,
            )
    except IntegrityError:
        raise fail("identity-in-use", in_use) from None
    attempt.finished_at, attempt.outcome = _now(), "verified"
    uow.commit()
    return {
        "citizen_id": str(account.id),
        "verification_id": str(attempt.id),
        "method": VerificationMethod.EID_PROVIDER.value,
        "provider": provider.name,
        "assurance_level": account.assurance_level,
        "verified_at": account.verified_at,
    }


def issue_counter_code(uow: UnitOfWork, rt: Runtime, principal: Principal) -> dict[str, Any]:
    account = _unverified_citizen(uow, principal)
    code = domain.counter_code()
    expires = _now() + timedelta(seconds=rt.settings.counter_code_seconds)
    uow.session.add(CounterCode(digest=digest(domain.canonical_code(code)), account_id=account.id, expires_at=expires))
    uow.commit()
    return {"counter_code": code, "expires_at": expires}


def _require_unit_role(principal: Principal, role: StaffRole, unit: str) -> None:
    if not principal.is_staff or not principal.has_role(role.value, unit):
        raise Problem(403, f"You do not hold the {role.value} role in unit {unit}.", kind="forbidden")


def find_for_counter(
    uow: UnitOfWork,
    rt: Runtime,
    principal: Principal,
    *,
    unit: str,
    email: str | None,
    counter_code: str | None,
    request_id: str | None,
) -> dict[str, Any]:
    _require_unit_role(principal, StaffRole.COUNTER_CLERK, unit)
    account: Account | None = None
    if counter_code:
        row = uow.session.get(CounterCode, digest(domain.canonical_code(counter_code)))
        if row is not None and _aware(row.expires_at) >= _now():
            account = uow.session.get(Account, row.account_id)
    elif email:
        account = _account_by_email(uow, email)
    if account is None or account.kind != AccountKind.CITIZEN:
        raise Problem(404, "No citizen account matches.", kind="not-found")
    record = uow.session.get(CivilStatusRecord, account.id)
    _audit(
        uow,
        principal.subject,
        "counter.account_looked_up",
        target=account.id,
        unit=unit,
        details={"by": "counter_code" if counter_code else "email"},
        request_id=request_id,
    )
    uow.commit()
    return {
        "citizen_id": str(account.id),
        "email": account.email,
        "last_name": record.last_name if record else None,
        "first_name": record.first_name if record else None,
        "birth_date": record.birth_date if record else None,
        "email_confirmed": account.email_confirmed_at is not None,
        "verified": account.verified_at is not None,
        "assurance_level": account.assurance_level,
    }


def verify_at_counter(
    uow: UnitOfWork,
    rt: Runtime,
    principal: Principal,
    *,
    citizen_id: str,
    unit: str,
    document_type: str,
    document_series: str | None,
    document_number: str,
    cnp: str,
    last_name: str,
    first_name: str,
    request_id: str | None,
) -> dict[str, Any]:
    """The clerk types what the ID document shows; it must match the account, then it is verified."""
    _require_unit_role(principal, StaffRole.COUNTER_CLERK, unit)
    account = _account(uow, citizen_id, lock=True)
    record = uow.session.get(CivilStatusRecord, account.id)
    if account.kind != AccountKind.CITIZEN or record is None:
        raise Problem(404, "No such citizen account.", kind="not-found")
    if account.verified_at is not None:
        raise Problem(409, "The identity is already verified.", kind="already-verified")
    try:
        domain.assert_identity_matches(_civil_status(rt, record), cnp=cnp, last_name=last_name, first_name=first_name)
    except domain.IdentityMismatchError as exc:
        _audit(
            uow,
            principal.subject,
            "counter.verification_refused",
            target=account.id,
            unit=unit,
            details={"mismatched": str(exc).split(", "), "document_type": document_type},
            request_id=request_id,
        )
        uow.commit()
        raise Problem(
            422,
            "The document does not match the account's civil-status data.",
            kind="identity-mismatch",
            fields=str(exc).split(", "),
        ) from None
    number = f"{document_series or ''}{document_number}".upper()
    _mark_verified(
        uow,
        account,
        method=VerificationMethod.COUNTER,
        assurance=AssuranceLevel.SUBSTANTIAL.value,
        unit=unit,
        clerk_id=principal.subject,
        document_type=document_type,
        document_number_sealed=rt.cipher.seal(number),
    )
    _audit(
        uow,
        principal.subject,
        "counter.identity_verified",
        target=account.id,
        unit=unit,
        details={"document_type": document_type},
        request_id=request_id,
    )
    uow.commit()
    return {
        "citizen_id": str(account.id),
        "method": VerificationMethod.COUNTER.value,
        "assurance_level": account.assurance_level,
        "verified_at": account.verified_at,
    }


# --- staff ------------------------------------------------------------------------------------


def _admin_units(principal: Principal) -> set[str]:
    return principal.units_for(StaffRole.ADMIN.value) if principal.is_staff else set()


def create_staff_account(
    uow: UnitOfWork,
    rt: Runtime,
    principal: Principal,
    *,
    email: str,
    name: str,
    language: str,
    roles: Iterable[tuple[str, str]],
    request_id: str | None,
) -> dict[str, Any]:
    """An admin creates a staff account; the new member sets a password with a mailed code."""
    wanted = list(dict.fromkeys((StaffRole(r), u) for r, u in roles))  # a repeated grant counts once
    admin_units = _admin_units(principal)
    if not admin_units or not all(domain.can_grant(admin_units, r, u) for r, u in wanted):
        raise Problem(403, "You cannot grant these roles.", kind="forbidden")
    if _account_by_email(uow, email) is not None:
        raise Problem(409, "An account with this e-mail address exists.", kind="account-exists")
    now = _now()
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF.value,
        email=domain.normalise_email(email),
        display_name=name,
        language=language,
        password_hash=None,
        created_at=now,
    )
    uow.session.add(account)
    uow.flush()
    for role, unit in wanted:
        uow.session.add(
            StaffRoleGrant(
                account_id=account.id,
                role=role.value,
                unit=unit,
                granted_by=uuid.UUID(principal.subject),
                granted_at=now,
            )
        )
    _request_reset(uow, rt, account, "staff_invitation")
    _audit(
        uow,
        principal.subject,
        "staff.account_created",
        target=account.id,
        details={"roles": [f"{r.value}@{u}" for r, u in wanted]},
        request_id=request_id,
    )
    uow.commit()
    return staff_view(uow, account)


def staff_view(uow: UnitOfWork, account: Account) -> dict[str, Any]:
    grants = uow.session.scalars(select(StaffRoleGrant).where(StaffRoleGrant.account_id == account.id))
    return {
        "staff_id": str(account.id),
        "email": account.email,
        "name": account.display_name,
        "roles": sorted(({"role": g.role, "unit": g.unit} for g in grants), key=lambda r: (r["role"], r["unit"])),
        "created_at": account.created_at,
    }


def _staff_account(uow: UnitOfWork, staff_id: str) -> Account:
    account = _account(uow, staff_id, lock=True)
    if account.kind != AccountKind.STAFF:
        raise Problem(404, "No such staff account.", kind="not-found")
    return account


def grant_role(
    uow: UnitOfWork, principal: Principal, *, staff_id: str, role: str, unit: str, request_id: str | None
) -> dict[str, Any]:
    if not domain.can_grant(_admin_units(principal), StaffRole(role), unit):
        raise Problem(403, "You cannot grant this role in this unit.", kind="forbidden")
    account = _staff_account(uow, staff_id)
    exists = uow.session.scalars(
        select(StaffRoleGrant).where(
            StaffRoleGrant.account_id == account.id, StaffRoleGrant.role == role, StaffRoleGrant.unit == unit
        )
    ).first()
    if exists is None:
        uow.session.add(
            StaffRoleGrant(
                account_id=account.id, role=role, unit=unit, granted_by=uuid.UUID(principal.subject), granted_at=_now()
            )
        )
        _audit(
            uow,
            principal.subject,
            "staff.role_granted",
            target=account.id,
            unit=unit,
            details={"role": role},
            request_id=request_id,
        )
    uow.flush()
    view = staff_view(uow, account)
    uow.commit()
    return view


def revoke_role(
    uow: UnitOfWork, principal: Principal, *, staff_id: str, role: str, unit: str, request_id: str | None
) -> dict[str, Any]:
    if not domain.can_grant(_admin_units(principal), StaffRole(role), unit):
        raise Problem(403, "You cannot revoke this role in this unit.", kind="forbidden")
    account = _staff_account(uow, staff_id)
    grant = uow.session.scalars(
        select(StaffRoleGrant).where(
            StaffRoleGrant.account_id == account.id, StaffRoleGrant.role == role, StaffRoleGrant.unit == unit
        )
    ).first()
    if grant is not None:
        uow.session.delete(grant)
        _audit(
            uow,
            principal.subject,
            "staff.role_revoked",
            target=account.id,
            unit=unit,
            details={"role": role},
            request_id=request_id,
        )
    uow.flush()
    view = staff_view(uow, account)
    uow.commit()
    return view


def audit_log(
    uow: UnitOfWork, principal: Principal, *, limit: int, before_id: int | None, unit: str | None
) -> list[dict[str, Any]]:
    units = _admin_units(principal)
    if not units:
        raise Problem(403, "Only admins read the audit log.", kind="forbidden")
    statement = select(StaffAuditEntry).order_by(StaffAuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(StaffAuditEntry.id < before_id)
    if domain.ANY_UNIT not in units:
        statement = statement.where(StaffAuditEntry.unit.in_(sorted(units)))
    if unit is not None:
        statement = statement.where(StaffAuditEntry.unit == unit)
    return [
        {
            "id": e.id,
            "actor_id": str(e.actor_id) if e.actor_id else None,
            "action": e.action,
            "target_account_id": str(e.target_account_id) if e.target_account_id else None,
            "unit": e.unit,
            "details": json.loads(e.details) if e.details else {},
            "request_id": e.request_id,
            "at": e.at,
        }
        for e in uow.session.scalars(statement)
    ]


def create_first_admin(uow: UnitOfWork, rt: Runtime, *, email: str, name: str, password: str) -> Account:
    """The CLI's ``create-admin``: an admin of every unit, its e-mail taken as confirmed."""
    if _account_by_email(uow, email) is not None:
        raise ValueError("an account with this e-mail address exists")
    now = _now()
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF.value,
        email=domain.normalise_email(email),
        display_name=name,
        language="ro",
        password_hash=rt.hasher.hash(password),
        email_confirmed_at=now,
        created_at=now,
    )
    uow.session.add(account)
    uow.flush()
    uow.session.add(
        StaffRoleGrant(account_id=account.id, role=StaffRole.ADMIN.value, unit=domain.ANY_UNIT, granted_at=now)
    )
    _audit(uow, None, "staff.first_admin_created", target=account.id, unit=domain.ANY_UNIT)
    uow.commit()
    return account
