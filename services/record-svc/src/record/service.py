"""record-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS, import_registry
from .config import Settings
from .worker import worker_loops

__all__ = ["definition", "import_registry", "main", "worker_loops"]

definition = ServiceDefinition(
    name="record-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=COMMANDS,
)

main = service_main("record.service:definition")
