"""Alembic environment of the chassis' own tables."""

from mai_chassis.migrations import run_env
from mai_chassis.tables import ChassisBase

run_env(ChassisBase.metadata)
