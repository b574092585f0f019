"""The citizen's civil-status profile: read by its owner (and by record-svc for them), edited until verified."""

from __future__ import annotations

from typing import Any

from mai_chassis import Principal, UnitOfWork
from sqlalchemy import select

from .. import domain
from ..commands import ReadProfile, UpdateProfile
from ..deps import IdentityDeps
from ..domain import AccountKind, CivilStatus
from ..errors import IdentityLocked, InvalidInput, NotFound
from ..tables import Account, CivilStatusRecord, VerificationAttempt
from .lookups import civil_status, load_account

__all__ = ["profile_view", "read_profile", "update_profile", "verification_pending"]


def verification_pending(uow: UnitOfWork, account: Account) -> bool:
    """A verification was started for the account and has neither finished nor expired."""
    pending = uow.session.scalars(
        select(VerificationAttempt.id)
        .where(
            VerificationAttempt.account_id == account.id,
            VerificationAttempt.finished_at.is_(None),
            VerificationAttempt.expires_at > uow.clock.now(),
        )
        .limit(1)
    ).first()
    return pending is not None


def _own_record(
    uow: UnitOfWork, principal: Principal, citizen_id: str, *, lock: bool = False
) -> tuple[Account, CivilStatusRecord]:
    """A citizen sees only their own profile; anyone else is told it does not exist.

    ``lock`` takes the account row for the transaction: every writer of the profile and every
    verification holds it, so an edit and a verification never interleave.
    """
    if principal.kind != AccountKind.CITIZEN or citizen_id not in ("me", principal.subject):
        raise NotFound("No such profile.")
    account = load_account(uow, principal.subject, lock=lock)
    record = uow.session.get(CivilStatusRecord, account.id)
    if record is None:
        raise NotFound("No such profile.")
    return account, record


def profile_view(account: Account, civil: CivilStatus, *, with_cnp: bool) -> dict[str, Any]:
    """The profile as ``schemas.Profile`` shows it: the CNP whole only when asked for."""
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


def read_profile(uow: UnitOfWork, deps: IdentityDeps, query: ReadProfile) -> dict[str, Any]:
    account, record = _own_record(uow, query.principal, query.citizen_id)
    return profile_view(account, civil_status(deps, record), with_cnp=query.with_cnp)


def update_profile(uow: UnitOfWork, deps: IdentityDeps, command: UpdateProfile) -> dict[str, Any]:
    """Change profile fields; identity fields are frozen once verified or while a verification runs."""
    changes = dict(command.changes)
    account, record = _own_record(uow, command.principal, command.citizen_id, lock=True)
    frozen = domain.identity_freeze(
        verified=account.verified_at is not None, verification_pending=verification_pending(uow, account)
    )
    try:
        civil = civil_status(deps, record).changed(changes, frozen=frozen)
    except domain.IdentityFrozenError as exc:
        raise IdentityLocked(
            "Identity fields cannot change after the identity is verified."
            if exc.reason is domain.IdentityFreeze.VERIFIED
            else "Identity fields cannot change while an identity verification is under way; "
            "finish it or wait until it expires.",
            fields=exc.fields,
            reason=exc.reason.value,
        ) from None
    except domain.InvalidCnpError as exc:
        raise InvalidInput("The CNP is not valid.", {"cnp": [str(exc)]}) from None
    except ValueError as exc:
        raise InvalidInput(str(exc), {"birth_date": [str(exc)]}) from None
    record.last_name, record.first_name = civil.last_name, civil.first_name
    record.cnp_sealed = deps.cipher.seal(civil.cnp) if "cnp" in changes else record.cnp_sealed
    record.birth_date, record.birth_place = civil.birth_date, civil.birth_place
    record.father_first_name, record.mother_first_name = civil.father_first_name, civil.mother_first_name
    record.citizenship, record.address, record.updated_at = civil.citizenship, civil.address, uow.clock.now()
    if {"last_name", "first_name"} & set(changes):
        account.display_name = f"{civil.first_name} {civil.last_name}"
    uow.commit()
    return profile_view(account, civil, with_cnp=False)
