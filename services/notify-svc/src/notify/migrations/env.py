"""Alembic environment of notify-svc's tables."""

from mai_chassis.migrations import run_env
from notify.tables import Base

run_env(Base.metadata)
