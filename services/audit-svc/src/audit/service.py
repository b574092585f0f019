"""audit-svc's definition: web app, migrations, worker loops (worker.py) and commands (cli.py)."""

from __future__ import annotations

from pathlib import Path

from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .cli import COMMANDS, anchor, verify_audit
from .config import Settings
from .worker import SERVICE, build_consumer, worker_loops

__all__ = ["SERVICE", "anchor", "build_consumer", "definition", "main", "verify_audit", "worker_loops"]

definition = ServiceDefinition(
    name=SERVICE,
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,
    commands=COMMANDS,
)

main = service_main("audit.service:definition")
