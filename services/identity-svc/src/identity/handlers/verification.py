"""Identity verification: online with an OpenID Connect provider (eID, bank card), or at a police counter.

The invariant: an account is verified only with an identity that matches its civil-status record,
checked under locks on the account (and its record), so no concurrent edit slips between; and a
person's identity verifies one account at most.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

from mai_chassis import Principal, UnitOfWork
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import domain
from ..commands import FindForCounter, FinishVerification, IssueCounterCode, StartVerification, VerifyAtCounter
from ..deps import IdentityDeps
from ..domain import AccountKind, AssuranceLevel, StaffRole, VerificationMethod
from ..eid import AssuranceTooLow, IdentificationRefused, OpenIdProvider, ProviderUnavailable, subject_digest
from ..errors import (
    AlreadyVerified,
    AssuranceInsufficient,
    Forbidden,
    IdentificationNotAccepted,
    IdentityError,
    IdentityInUse,
    IdentityMismatch,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnreachable,
    VerificationExpired,
    VerificationUsed,
)
from ..events import IdentityVerified
from ..secrets_at_rest import digest
from ..tables import Account, CivilStatusRecord, CounterCode, IdentityVerification, VerificationAttempt
from .lookups import account_by_email, aware, civil_status, load_account, recipient, record_audit

__all__ = ["find_for_counter", "finish_verification", "issue_counter_code", "start_verification", "verify_at_counter"]

logger = logging.getLogger(__name__)


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
    now = uow.clock.now()
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
    uow.publish(
        IdentityVerified(
            citizen_id=account.id,
            method=method.value,
            assurance_level=assurance,
            verified_at=now,
            recipient=recipient(account),
            provider=provider or None,
            unit=unit or None,
        )
    )


def _unverified_citizen(uow: UnitOfWork, principal: Principal) -> Account:
    if principal.kind != AccountKind.CITIZEN:
        raise Forbidden("Identity verification is for citizen accounts.")
    account = load_account(uow, principal.subject, lock=True)
    if account.verified_at is not None:
        raise AlreadyVerified("The identity is already verified.")
    return account


def _provider(deps: IdentityDeps, name: str) -> OpenIdProvider:
    provider = deps.providers.get(name)
    if provider is None:
        raise InvalidInput("Unknown identification provider.", {"provider": [f"one of {sorted(deps.providers)}"]})
    return provider


def _subject_key(deps: IdentityDeps) -> bytes:
    """The key of provider-subject digests (a provider's ``sub`` may be a CNP: never stored plain).

    Derived from the newest encryption key: after a rotation of ``IDENTITY_ENCRYPTION_KEYS`` the
    digests of earlier verifications no longer match new ones (the one-account-per-person check
    then covers verifications made since the rotation).
    """
    newest = deps.settings.encryption_keys[0].strip().encode()
    return hmac.new(newest, b"identity eid subjects v1", hashlib.sha256).digest()


def start_verification(uow: UnitOfWork, deps: IdentityDeps, command: StartVerification) -> dict[str, Any]:
    """Send the citizen to an OpenID Connect provider: an attempt bound to this account.

    ``state`` is returned once (the portal keeps it in its session) and only its digest is stored;
    the nonce and the sealed PKCE verifier stay here until the callback.
    """
    provider = _provider(deps, command.provider_name)
    redirect_uri = command.redirect_uri or provider.redirect_uris[0]
    if redirect_uri not in provider.redirect_uris:
        raise InvalidInput(
            "This redirect URI is not registered for the provider.",
            {"redirect_uri": ["must be one of the provider's registered redirect URIs"]},
        )
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    try:  # the provider's metadata may need a request: before any row is locked
        authorization_url = provider.authorization_url(
            state=state, nonce=nonce, code_verifier=verifier, redirect_uri=redirect_uri
        )
    except ProviderUnavailable as exc:
        logger.warning("identification provider %s unavailable: %s", provider.name, exc)
        raise ProviderUnreachable() from None
    account = _unverified_citizen(uow, command.principal)
    now = uow.clock.now()
    expires = now + timedelta(seconds=deps.settings.verification_seconds)
    attempt = VerificationAttempt(
        account_id=account.id,
        provider=provider.name,
        state_digest=digest(state),
        nonce=nonce,
        code_verifier_sealed=deps.cipher.seal(verifier),
        redirect_uri=redirect_uri,
        expires_at=expires,
        created_at=now,
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


def finish_verification(uow: UnitOfWork, deps: IdentityDeps, command: FinishVerification) -> dict[str, Any]:
    """The provider sent the citizen back: redeem the code for an ID token and verify on a match.

    The attempt that ``state`` names must belong to the caller's account and be open; it is spent
    whatever the outcome (a provider that cannot be reached leaves it open for a retry).
    """
    principal = command.principal
    attempt = uow.session.scalars(
        select(VerificationAttempt).where(VerificationAttempt.state_digest == digest(command.state)).with_for_update()
    ).first()
    not_found = NotFound("No such identity verification.")
    if attempt is None or principal.kind != AccountKind.CITIZEN:
        raise not_found

    def fail(outcome: str, error: IdentityError) -> IdentityError:
        """Spend the attempt (committed) and give back the error to raise."""
        attempt.finished_at, attempt.outcome = uow.clock.now(), outcome[:32]
        uow.commit()
        logger.info("identity verification %s refused: %s (provider %s)", attempt.id, outcome, attempt.provider)
        return error

    if str(attempt.account_id) != principal.subject:
        # Another account holds this state: the redirect reached someone who did not start it.
        # The attempt is spent, so that a code issued to that person cannot be redeemed later.
        if attempt.finished_at is None:
            raise fail("presented-by-another-account", not_found)
        raise not_found
    if attempt.finished_at is not None:
        raise VerificationUsed("This identity verification was already used; start a new one.")
    if aware(attempt.expires_at) < uow.clock.now():
        raise fail("expired", VerificationExpired("The identity verification expired; start a new one."))
    provider = deps.providers.get(attempt.provider)
    if provider is None or not attempt.code_verifier_sealed or not attempt.redirect_uri:
        raise fail("provider-gone", VerificationUsed("Start a new identity verification."))
    if command.error is not None or not command.code:
        raise fail("provider-error", ProviderError(command.error or "no_code"))
    try:
        person = provider.identify(
            code=command.code,
            code_verifier=deps.cipher.open(attempt.code_verifier_sealed),
            redirect_uri=attempt.redirect_uri,
            nonce=attempt.nonce,
        )
    except ProviderUnavailable as exc:
        logger.warning("identification provider %s unavailable: %s", provider.name, exc)
        raise ProviderUnreachable() from None
    except AssuranceTooLow as exc:
        raise fail("assurance-too-low", AssuranceInsufficient(asserted=exc.asserted, required=exc.required)) from None
    except IdentificationRefused as exc:
        refused = IdentificationNotAccepted("The identification answer cannot be accepted.")
        raise fail("refused:" + str(exc)[:23], refused) from None

    account = load_account(uow, attempt.account_id, lock=True)
    record = uow.session.get(CivilStatusRecord, account.id, with_for_update=True)
    if account.verified_at is not None or record is None:
        raise fail("already-verified", AlreadyVerified("The identity is already verified."))
    try:
        domain.assert_identity_matches(
            civil_status(deps, record),
            cnp=person.cnp,
            last_name=person.last_name,
            first_name=person.first_name,
            birth_date=person.birth_date,
        )
    except domain.IdentityMismatchError as exc:
        mismatch = IdentityMismatch(
            "The identified person does not match the account's civil-status data.", fields=str(exc).split(", ")
        )
        raise fail("mismatch", mismatch) from None
    subject = subject_digest(_subject_key(deps), provider.name, person.subject)
    in_use = IdentityInUse("This person's identity already verifies another account.")
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
    attempt.finished_at, attempt.outcome = uow.clock.now(), "verified"
    uow.commit()
    return {
        "citizen_id": str(account.id),
        "verification_id": str(attempt.id),
        "method": VerificationMethod.EID_PROVIDER.value,
        "provider": provider.name,
        "assurance_level": account.assurance_level,
        "verified_at": account.verified_at,
    }


def issue_counter_code(uow: UnitOfWork, deps: IdentityDeps, command: IssueCounterCode) -> dict[str, Any]:
    """A short-lived code the citizen shows at the counter, so the clerk finds the account."""
    account = _unverified_citizen(uow, command.principal)
    code = domain.counter_code()
    expires = uow.clock.now() + timedelta(seconds=deps.settings.counter_code_seconds)
    uow.session.add(CounterCode(digest=digest(domain.canonical_code(code)), account_id=account.id, expires_at=expires))
    uow.commit()
    return {"counter_code": code, "expires_at": expires}


def _require_unit_role(principal: Principal, role: StaffRole, unit: str) -> None:
    if not principal.is_staff or not principal.has_role(role.value, unit):
        raise Forbidden(f"You do not hold the {role.value} role in unit {unit}.")


def find_for_counter(uow: UnitOfWork, deps: IdentityDeps, command: FindForCounter) -> dict[str, Any]:
    """The clerk finds the citizen's account by the code the citizen shows, or by e-mail (audited)."""
    principal = command.principal
    _require_unit_role(principal, StaffRole.COUNTER_CLERK, command.unit)
    account: Account | None = None
    if command.counter_code:
        row = uow.session.get(CounterCode, digest(domain.canonical_code(command.counter_code)))
        if row is not None and aware(row.expires_at) >= uow.clock.now():
            account = uow.session.get(Account, row.account_id)
    elif command.email:
        account = account_by_email(uow, command.email)
    if account is None or account.kind != AccountKind.CITIZEN:
        raise NotFound("No citizen account matches.")
    record = uow.session.get(CivilStatusRecord, account.id)
    record_audit(
        uow,
        principal.subject,
        "counter.account_looked_up",
        target=account.id,
        unit=command.unit,
        details={"by": "counter_code" if command.counter_code else "email"},
        request_id=command.request_id,
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


def verify_at_counter(uow: UnitOfWork, deps: IdentityDeps, command: VerifyAtCounter) -> dict[str, Any]:
    """The clerk types what the ID document shows; it must match the account, then it is verified."""
    principal, unit = command.principal, command.unit
    _require_unit_role(principal, StaffRole.COUNTER_CLERK, unit)
    account = load_account(uow, command.citizen_id, lock=True)
    record = uow.session.get(CivilStatusRecord, account.id)
    if account.kind != AccountKind.CITIZEN or record is None:
        raise NotFound("No such citizen account.")
    if account.verified_at is not None:
        raise AlreadyVerified("The identity is already verified.")
    try:
        domain.assert_identity_matches(
            civil_status(deps, record), cnp=command.cnp, last_name=command.last_name, first_name=command.first_name
        )
    except domain.IdentityMismatchError as exc:
        record_audit(
            uow,
            principal.subject,
            "counter.verification_refused",
            target=account.id,
            unit=unit,
            details={"mismatched": str(exc).split(", "), "document_type": command.document_type},
            request_id=command.request_id,
        )
        uow.commit()
        raise IdentityMismatch(
            "The document does not match the account's civil-status data.", fields=str(exc).split(", ")
        ) from None
    number = f"{command.document_series or ''}{command.document_number}".upper()
    _mark_verified(
        uow,
        account,
        method=VerificationMethod.COUNTER,
        assurance=AssuranceLevel.SUBSTANTIAL.value,
        unit=unit,
        clerk_id=principal.subject,
        document_type=command.document_type,
        document_number_sealed=deps.cipher.seal(number),
    )
    record_audit(
        uow,
        principal.subject,
        "counter.identity_verified",
        target=account.id,
        unit=unit,
        details={"document_type": command.document_type},
        request_id=command.request_id,
    )
    uow.commit()
    return {
        "citizen_id": str(account.id),
        "method": VerificationMethod.COUNTER.value,
        "assurance_level": account.assurance_level,
        "verified_at": account.verified_at,
    }
