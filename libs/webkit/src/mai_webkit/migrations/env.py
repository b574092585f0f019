"""Alembic environment of a web front end's own table (the server-side sessions, :mod:`mai_webkit.sessions`)."""

from mai_chassis.migrations import run_env
from mai_webkit.sessions import metadata

run_env(metadata)
