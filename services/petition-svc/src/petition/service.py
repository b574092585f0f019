"""petition-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS, remind_all_deadlines, remind_deadlines_command
from .config import Settings
from .worker import worker_loops

__all__ = ["definition", "main", "remind_all_deadlines", "remind_deadlines_command", "worker_loops"]

definition = ServiceDefinition(
    name="petition-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=COMMANDS,
)

main = service_main("petition.service:definition")
