"""Alembic environment of petition-svc's tables."""

from mai_chassis.migrations import run_env
from petition.tables import Base

run_env(Base.metadata)
