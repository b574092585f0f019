"""petition-svc's definition: its web app, migrations, worker loops and command line."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .config import Settings

definition = ServiceDefinition(
    name="petition-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
)

main = service_main("petition.service:definition")
