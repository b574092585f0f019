"""``identity.verified``: record-svc learns which citizens may apply online."""

from __future__ import annotations

import uuid
from datetime import datetime

from mai_chassis import Event, UnitOfWork

from ..domain import as_utc
from ..tables import VerifiedCitizen

__all__ = ["record_verified_identity"]


def record_verified_identity(uow: UnitOfWork, event: Event) -> None:
    """Remember that the citizen may apply online (a replay changes nothing; the consumer commits)."""
    data = event.data
    citizen_id = uuid.UUID(data["citizen_id"])
    verified_at = datetime.fromisoformat(data["verified_at"].replace("Z", "+00:00"))
    known = uow.session.get(VerifiedCitizen, citizen_id)
    if known is not None and as_utc(known.verified_at) > verified_at:
        return  # an older verification arriving late does not overwrite a newer one
    recipient = data["recipient"]
    uow.session.merge(
        VerifiedCitizen(
            citizen_id=citizen_id,
            method=data["method"],
            assurance_level=data["assurance_level"],
            provider=data.get("provider"),
            unit=data.get("unit"),
            verified_at=verified_at,
            email=recipient["email"],
            name=recipient["name"],
            language=recipient["language"],
        )
    )
