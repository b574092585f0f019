"""The gateway's definition and command line (``gateway web``): no database, no worker."""

from __future__ import annotations

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .config import Settings

definition = ServiceDefinition(
    name="gateway",
    settings_class=Settings,
    create_app=create_app,
    relays_outbox=False,
)

main = service_main("gateway.service:definition")
