"""The gateway's definition and command line (``gateway web``): no database, no worker."""

from __future__ import annotations

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .config import Settings
from .server import web_command

definition = ServiceDefinition(
    name="gateway",
    settings_class=Settings,
    create_app=create_app,
    relays_outbox=False,
    # Added after the chassis' commands, so this `web` (event-loop workers) replaces the gthread one.
    commands=[web_command()],
)

#: Called by :func:`gateway.server.main`, the console script.
main = service_main("gateway.service:definition")
