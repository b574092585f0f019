"""Alembic migration runner: the chassis' own tables first, then the service's."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

__all__ = [
    "CHASSIS_MIGRATIONS",
    "alembic_config",
    "move_spent_challenges_to_chassis",
    "restore_spent_challenges",
    "run_env",
    "upgrade",
]

logger = logging.getLogger(__name__)

CHASSIS_MIGRATIONS = Path(__file__).parent
_LOCK_KEY = 7_302_114_556_001


def alembic_config(database_url: str, script_location: Path, version_table: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # ConfigParser interpolates "%"; URLs with percent-encoded passwords need escaping.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["version_table"] = version_table
    return config


def upgrade(database_url: str, service_migrations: Path | None, *, revision: str = "head") -> None:
    """Bring the database to the latest schema: chassis tables, then the service's own."""
    steps = [(CHASSIS_MIGRATIONS, "chassis_alembic_version")]
    if service_migrations is not None:
        steps.append((service_migrations, "alembic_version"))
    for location, version_table in steps:
        logger.info("migrating %s (%s)", location, version_table)
        command.upgrade(alembic_config(database_url, location, version_table), revision)


def run_env(target_metadata: MetaData | None) -> None:
    """The body of every ``env.py``: online migrations in one transaction, serialised by a lock."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic configuration without sqlalchemy.url")
    version_table = config.attributes.get("version_table", "alembic_version")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            # Several pods may start migrations at once; one runs them, the others wait.
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table=version_table,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if is_pg:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                connection.commit()
    engine.dispose()


def move_spent_challenges_to_chassis() -> None:
    """For a service revision: the challenges spent in the service's own ``spent_challenges`` are
    copied to the chassis' ``used_challenges`` (revision c0004, run before the service's), then the
    service's table and its expiry index are dropped."""
    import sqlalchemy as sa
    from alembic import op

    op.execute(
        sa.text(
            "INSERT INTO used_challenges (challenge, expires_at) SELECT challenge, expires_at FROM spent_challenges"
        )
    )
    op.drop_index("ix_spent_challenges_expires_at", table_name="spent_challenges")
    op.drop_table("spent_challenges")


def restore_spent_challenges() -> None:
    """The downgrade of :func:`move_spent_challenges_to_chassis`: the service's ``spent_challenges``
    again, with the challenges the chassis has kept copied back."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "spent_challenges",
        sa.Column("challenge", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("challenge", name="pk_spent_challenges"),
    )
    op.create_index("ix_spent_challenges_expires_at", "spent_challenges", ["expires_at"])
    op.execute(
        sa.text(
            "INSERT INTO spent_challenges (challenge, expires_at) SELECT challenge, expires_at FROM used_challenges"
        )
    )
