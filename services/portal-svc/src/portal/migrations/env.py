"""Alembic environment of portal-svc's tables (the server-side sessions)."""

from mai_chassis.migrations import run_env
from mai_webkit.sessions import metadata

run_env(metadata)
