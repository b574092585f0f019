"""Alembic environment of identity-svc's tables."""

from identity.tables import Base
from mai_chassis.migrations import run_env

run_env(Base.metadata)
