"""What booking-svc holds about the caller, for identity-svc's download of the citizen's data."""

from __future__ import annotations

from flask import Response
from mai_chassis import require_auth
from mai_chassis.personal_data import EXPORT_PATH, export_response
from mai_chassis.web import unit_of_work

from .. import handlers
from .blueprints import internal
from .context import citizen, deps


@internal.get(EXPORT_PATH)
@require_auth(kind="citizen")
def citizens_data() -> Response:
    with unit_of_work() as uow:
        document = handlers.export_citizen_data(uow, deps(), handlers.CitizensData(citizen()))
    return export_response(document)
