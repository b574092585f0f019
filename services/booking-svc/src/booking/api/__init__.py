"""HTTP API of booking-svc, one module per area: parse (schemas) -> handler -> dump (schemas)."""

from __future__ import annotations

from flask import Blueprint

from . import applications, appointments, offices, personal_data, review, schedules
from .blueprints import appointments as appointments_blueprint
from .blueprints import immigration, internal
from .blueprints import offices as offices_blueprint

__all__ = ["BLUEPRINTS", "applications", "appointments", "offices", "personal_data", "review", "schedules"]

#: Registered by :func:`booking.create_app` (the view modules above add their routes to them).
BLUEPRINTS: tuple[Blueprint, ...] = (immigration, appointments_blueprint, offices_blueprint, internal)
