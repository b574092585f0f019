"""Alembic environment of record-svc's tables."""

from mai_chassis.migrations import run_env
from record.tables import Base

run_env(Base.metadata)
