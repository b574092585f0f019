"""portal-svc's definition: its web app, its migrations (the sessions table) and command line."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main
from mai_webkit.catalogues import catalogue_commands
from mai_webkit.sessions import SESSIONS_MIGRATIONS

from . import create_app
from .config import Settings

PACKAGE = Path(__file__).parent
#: Areas whose texts are not in areas/<area>.py and templates/<area>/ (see the README).
CATALOGUE_SOURCES = {"site": ["navigation.py", "templates/layout.html"], "fields": ["form_fields.py"]}

definition = ServiceDefinition(
    name="portal-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=SESSIONS_MIGRATIONS,
    relays_outbox=False,
    commands=[catalogue_commands(PACKAGE, CATALOGUE_SOURCES)],
)

main = service_main("portal.service:definition")
