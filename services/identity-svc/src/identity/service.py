"""identity-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS, create_admin, ensure_first_signing_key
from .config import Settings
from .worker import worker_loops

__all__ = ["MIGRATIONS", "create_admin", "definition", "main", "worker_loops"]

MIGRATIONS = Path(__file__).parent / "migrations"

definition = ServiceDefinition(
    name="identity-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=MIGRATIONS,
    worker_loops=worker_loops,
    commands=COMMANDS,
    after_migrate=ensure_first_signing_key,
)

main = service_main("identity.service:definition")
