"""The citizen's download of everything the platform holds about them (GDPR art. 15 and 20)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mai_chassis import UnitOfWork
from mai_chassis.personal_data import export_document, row_data, rows_data
from sqlalchemy import select

from ..commands import ExportAccount
from ..deps import IdentityDeps
from ..domain import AccountKind
from ..errors import ExportSourceUnavailable, Forbidden
from ..tables import Account, CivilStatusRecord, IdentityVerification, RefreshToken
from .lookups import civil_status, load_account

__all__ = ["AccountExport", "export_account"]

SERVICE = "identity-svc"


@dataclass(frozen=True)
class AccountExport:
    """Every service's part, by service name (identity-svc's first)."""

    account_id: str
    parts: dict[str, dict[str, Any]]


def _own_part(uow: UnitOfWork, deps: IdentityDeps, account: Account) -> dict[str, Any]:
    record = uow.session.get(CivilStatusRecord, account.id)
    profile = None
    if record is not None:
        civil = civil_status(deps, record)
        profile = row_data(record, exclude=("account_id", "cnp_sealed")) | {"cnp": civil.cnp}
    verifications = uow.session.scalars(
        select(IdentityVerification)
        .where(IdentityVerification.account_id == account.id)
        .order_by(IdentityVerification.verified_at)
    )
    sessions = uow.session.scalars(
        select(RefreshToken).where(RefreshToken.account_id == account.id).order_by(RefreshToken.issued_at)
    )
    return export_document(
        SERVICE,
        str(account.id),
        {
            "account": row_data(account, exclude=("password_hash",)),
            "civil_status": profile,
            # The clerk who checked a document and the keyed digest of a provider's subject are not the citizen's.
            "identity_verifications": rows_data(
                verifications, exclude=("account_id", "clerk_id", "document_number_sealed", "subject_digest")
            ),
            "sessions": rows_data(sessions, exclude=("digest", "account_id")),
        },
    )


def export_account(uow: UnitOfWork, deps: IdentityDeps, query: ExportAccount) -> AccountExport:
    """identity-svc's part, then each other service's, asked with the citizen's own token.

    A service that fails, or answers about another subject, fails the whole download: a citizen
    never gets a partial one, and never anybody else's data.
    """
    principal = query.principal
    if principal.kind != AccountKind.CITIZEN:
        raise Forbidden("Only a citizen can download their own data here.")
    account = load_account(uow, principal.subject)
    parts = {SERVICE: _own_part(uow, deps, account)}
    for source in deps.export_sources:
        document = dict(source.fetch(query.bearer_token))
        if document.get("subject") != principal.subject:
            raise ExportSourceUnavailable(source.name)
        parts[source.name] = document
    return AccountExport(account_id=str(account.id), parts=parts)
