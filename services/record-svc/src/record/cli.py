"""record-svc's commands (beside the chassis' web, worker, migrate): importing the local registry."""

from __future__ import annotations

from pathlib import Path

import click
from mai_chassis import Database

from . import retention
from .config import Settings

__all__ = ["COMMANDS", "import_registry"]


@click.command("import-registry", help="Load people with a registry entry (CSV: cnp,unit) into the local registry.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_registry(csv_file: Path) -> None:
    from mai_chassis.logs import configure_logging

    from .registry import CnpHasher, import_registry_csv

    settings = Settings.from_env()
    configure_logging(settings.service_name, level=settings.log_level, json_format=settings.log_json)
    database = Database(settings.database_url)
    try:
        count = import_registry_csv(
            database, CnpHasher(settings.registry_hash_key), csv_file, default_unit=settings.default_referral_unit
        )
    except ValueError as exc:
        raise click.ClickException(f"{csv_file}: {exc}; nothing was imported") from None
    finally:
        database.dispose()
    click.echo(f"record-svc: {count} registry entries imported")


COMMANDS = [import_registry, retention.purge]
