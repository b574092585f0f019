"""Alembic environment of booking-svc's tables."""

from booking.tables import Base
from mai_chassis.migrations import run_env

run_env(Base.metadata)
