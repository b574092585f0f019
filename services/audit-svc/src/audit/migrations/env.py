"""Alembic environment of audit-svc's tables."""

from audit.tables import Base
from mai_chassis.migrations import run_env

run_env(Base.metadata)
