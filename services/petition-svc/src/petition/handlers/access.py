"""Finding a petition by its number, and who among the staff may see or act on it."""

from __future__ import annotations

from mai_chassis import UnitOfWork
from mai_chassis.auth import Principal
from mai_chassis.staff_actions import AuditSubject, record_staff_action
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotYourInstitution, PetitionNotFound
from ..tables import Petition

__all__ = [
    "CLERK",
    "PHONE_OPERATOR",
    "find_by_number",
    "petition_of_clerk",
    "record_clerk_action",
    "require_clerk_of",
]

#: Staff roles: a clerk handles the petitions of an institution (a unit); a phone operator
#: (TELVERDE) reads their status by number.
CLERK = "petition_clerk"
PHONE_OPERATOR = "phone_operator"


def find_by_number(session: Session, registration_number: str, *, for_update: bool = False) -> Petition:
    statement = select(Petition).where(Petition.registration_number == registration_number.strip().upper())
    if for_update:
        statement = statement.with_for_update()
    petition = session.scalar(statement)
    if petition is None:
        raise PetitionNotFound()
    return petition


def require_clerk_of(staff: Principal, institution: str) -> str:
    """The clerk's account id, when ``staff`` is a petition clerk of ``institution``."""
    if not staff.has_role(CLERK, institution):
        raise NotYourInstitution("You are not a petition clerk of this institution.")
    return staff.subject


def petition_of_clerk(session: Session, registration_number: str, clerk: Principal, *, for_update: bool) -> Petition:
    """The petition, when ``clerk`` is a clerk of the institution that has it now."""
    petition = find_by_number(session, registration_number, for_update=for_update)
    require_clerk_of(clerk, petition.institution)
    return petition


def record_clerk_action(
    uow: UnitOfWork, clerk: Principal, action: str, petition: Petition, *, unit: str | None = None
) -> None:
    """A clerk's action on a petition, on the audit trail (in the same transaction as the change);
    ``unit`` is the institution acting when it is no longer the petition's (a forward)."""
    record_staff_action(
        uow,
        clerk,
        action=action,
        subject=AuditSubject("petition", petition.id, petition.registration_number),
        role=CLERK,
        unit=unit or petition.institution,
    )
