"""The URL prefixes of booking-svc's HTTP API."""

from __future__ import annotations

from flask import Blueprint

immigration = Blueprint("immigration", __name__, url_prefix="/api/v1/immigration")
appointments = Blueprint("appointments", __name__, url_prefix="/api/v1/appointments")
offices = Blueprint("offices", __name__, url_prefix="/api/v1/offices")
internal = Blueprint("booking_internal", __name__)
