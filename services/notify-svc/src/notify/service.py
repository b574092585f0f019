"""notify-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS
from .config import Settings
from .subscriptions import SERVICE
from .worker import build_consumer, build_delivery_loops, worker_loops

__all__ = ["build_consumer", "build_delivery_loops", "definition", "main", "worker_loops"]

definition = ServiceDefinition(
    name=SERVICE,
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=COMMANDS,
)

main = service_main("notify.service:definition")
