"""booking-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS, generate_slots_command
from .config import Settings
from .worker import worker_loops

__all__ = ["definition", "generate_slots_command", "main", "worker_loops"]

definition = ServiceDefinition(
    name="booking-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,  # type: ignore[arg-type]
    commands=COMMANDS,
)

main = service_main("booking.service:definition")
