"""The services' migrations on PostgreSQL, for the data already in a deployed database: solved
challenges spent in a service's own table before the chassis kept them (chassis revision c0004)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from mai_chassis.migrations import alembic_config, upgrade
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).parents[2] / "services"


@pytest.mark.parametrize(
    ("service", "package", "before_the_move"),
    [
        ("petition-svc", "petition", "0004_citizen_petitions_index"),
        ("identity-svc", "identity", "0004_form_challenges"),
    ],
)
def test_challenges_spent_before_the_chassis_kept_them_stay_spent(
    database_factory: Callable[..., str], service: str, package: str, before_the_move: str
) -> None:
    migrations = SERVICES / service / "src" / package / "migrations"
    url = database_factory(package)
    upgrade(url, None)  # the chassis tables, used_challenges among them
    command.upgrade(alembic_config(url, migrations, "alembic_version"), before_the_move)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO spent_challenges (challenge, expires_at) VALUES ('v1.20.1.abc.sig', :expires)"),
                {"expires": "2026-12-07T10:05:00Z"},
            )
        upgrade(url, migrations)
        with engine.connect() as connection:
            used = connection.execute(text("SELECT challenge FROM used_challenges")).scalars().all()
            tables = set(inspect(connection).get_table_names())
        command.downgrade(alembic_config(url, migrations, "alembic_version"), before_the_move)
        with engine.connect() as connection:
            spent_again = connection.execute(text("SELECT challenge FROM spent_challenges")).scalars().all()
    finally:
        engine.dispose()
    assert used == ["v1.20.1.abc.sig"]
    assert "spent_challenges" not in tables
    assert spent_again == ["v1.20.1.abc.sig"]  # and a downgrade gives them back
