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
    # Added after the chassis' commands, so this `web` (gevent workers) replaces the gthread one.
    commands=[web_command()],
)

#: Called by :func:`gateway.server.main`, which first prepares gevent for ``web``.
main = service_main("gateway.service:definition")
