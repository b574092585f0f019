"""The one audit trail: a staff handler records its action inside its own unit of work.

Every service publishes its staff members' actions as ``staff.action`` events (schema
``staff.action.v1`` in ``contracts/``) on a topic of its own, ``<name>.staff_action``, so that each
topic keeps a single owner and the consumers' producer check stays exact. The event goes through
the outbox with the state change: an action that rolls back leaves no audit record, and one that
commits always has one. audit-svc consumes every such topic into its hash-chained store::

    record_staff_action(uow, command.principal, action="petition.answer",
                        subject=AuditSubject("petition", petition.id, petition.registration_number),
                        role="petition_clerk", unit=petition.institution)

Nothing about the citizen concerned goes in: the staff member is named by account id, the case
by its reference (type, id and registration number).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import mai_contracts

from .auth import ANY_UNIT, Principal
from .unit_of_work import UnitOfWork

__all__ = ["AuditSubject", "record_staff_action", "staff_action_event_type"]

Outcome = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class AuditSubject:
    """What a staff action was about: the kind of record, its id, and its registration number if any."""

    type: str
    id: str | uuid.UUID
    number: str | None = None


def staff_action_event_type(service: str) -> str:
    """The CloudEvents type of ``service``'s staff actions (``ro.mai.<name>.staff_action.v1``)."""
    return mai_contracts.staff_action_topic(service).event_type


def record_staff_action(
    uow: UnitOfWork,
    actor: Principal | str | uuid.UUID,
    *,
    action: str,
    subject: AuditSubject,
    role: str | None = None,
    unit: str | None = None,
    outcome: Outcome = "succeeded",
) -> str:
    """Publish the staff action through ``uow``'s outbox (committed with the state change); returns the event id.

    ``actor`` is the staff member (their verified principal, or their account id); ``role`` the
    role the action needed and ``unit`` where it was exercised. Without ``unit``, a principal that
    holds ``role`` in exactly one unit (or in every unit, ``*``) gives that unit.
    """
    source = getattr(uow, "source", "")
    actor_id = str(actor.subject if isinstance(actor, Principal) else actor)
    if unit is None and role is not None and isinstance(actor, Principal):
        units = actor.units_for(role)
        unit = ANY_UNIT if ANY_UNIT in units else (next(iter(units)) if len(units) == 1 else None)
    action_id = str(uuid.uuid4())
    data = {
        "action_id": action_id,
        "actor": actor_id,
        "role": role,
        "unit": unit,
        "action": action,
        "subject": {"type": subject.type, "id": str(subject.id), "number": subject.number},
        "occurred_at": _instant(uow),
        "outcome": outcome,
    }
    return uow.publish(staff_action_event_type(source), subject=action_id, data=data, key=action_id)


def _instant(uow: UnitOfWork) -> str:
    from .events import _json_ready

    return str(_json_ready(uow.clock.now()))
