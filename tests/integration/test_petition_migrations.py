"""petition-svc's migrations on PostgreSQL, for the data already in a deployed database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from mai_chassis.migrations import alembic_config, upgrade
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"


def test_challenges_spent_before_the_chassis_kept_them_stay_spent(database_factory: Callable[..., str]) -> None:
    url = database_factory("petition")
    upgrade(url, None)  # the chassis tables, used_challenges among them
    command.upgrade(alembic_config(url, MIGRATIONS, "alembic_version"), "0004_citizen_petitions_index")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO spent_challenges (challenge, expires_at) VALUES ('v1.20.1.abc.sig', :expires)"),
                {"expires": "2026-12-07T10:05:00Z"},
            )
        upgrade(url, MIGRATIONS)
        with engine.connect() as connection:
            used = connection.execute(text("SELECT challenge FROM used_challenges")).scalars().all()
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert used == ["v1.20.1.abc.sig"]
    assert "spent_challenges" not in tables
