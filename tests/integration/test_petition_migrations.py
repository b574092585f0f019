"""petition-svc's migrations on PostgreSQL, for the data already in a deployed database (the move of
spent challenges to the chassis: test_used_challenges_migrations.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from mai_chassis.migrations import alembic_config, upgrade
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "petition-svc" / "src" / "petition" / "migrations"


def test_paper_petitions_without_an_address_are_kept_and_block_going_back(
    database_factory: Callable[..., str],
) -> None:
    url = database_factory("petition")
    upgrade(url, None)
    config = alembic_config(url, MIGRATIONS, "alembic_version")
    command.upgrade(config, "0005_used_challenges_in_chassis")
    engine = create_engine(url)
    columns = (
        "id, registration_number, kind, channel, institution, field, subject, text, language, petitioner_name, "
        "petitioner_email, content_fingerprint, status, registered_at, answer_due_on, forward_due_on"
    )
    values = (
        "'{id}', '{number}', 'petition', '{channel}', 'IGPR', 'road-traffic', 'Semafor', 'Text', 'ro', 'Ana Pop', "
        "{email}, 'f', 'registered', '2026-10-21T09:00:00Z', '2026-11-20', '2026-10-26'"
    )
    try:
        with engine.begin() as connection:
            row = values.format(
                id="0b6f3c1e-5d4a-4c1b-9a53-2f0e8f6f7a10", number="IGPR-2026-000001", channel="web", email="'a@b.ro'"
            )
            connection.execute(text(f"INSERT INTO petitions ({columns}) VALUES ({row})"))
        upgrade(url, MIGRATIONS)
        with engine.begin() as connection:
            row = values.format(
                id="5c2d9a7e-1f3b-4e6a-8c0d-7b9e2a4f6c31", number="IGPR-2026-000002", channel="post", email="NULL"
            )
            connection.execute(text(f"INSERT INTO petitions ({columns}) VALUES ({row})"))
            kept = connection.execute(
                text("SELECT registration_number, petitioner_email, received_on FROM petitions ORDER BY 1")
            ).all()
        assert [tuple(r) for r in kept] == [("IGPR-2026-000001", "a@b.ro", None), ("IGPR-2026-000002", None, None)]
        with pytest.raises(RuntimeError, match="without an e-mail address"):
            command.downgrade(config, "0005_used_challenges_in_chassis")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM petitions")).scalar() == 2
    finally:
        engine.dispose()
