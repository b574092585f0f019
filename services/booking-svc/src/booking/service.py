"""booking-svc's definition: its web app, migrations, worker loops and command line."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import click
from mai_chassis import Database, EventConsumer, ServiceDefinition, service_main

from . import create_app, retention
from .config import Settings


def worker_loops(settings: Settings, database: Database) -> list[Any]:
    from mai_chassis.metrics import register_collector

    from .catalog import load_catalog
    from .deps import document_store
    from .handlers import ACCOUNT_DELETED, IDENTITY_VERIFIED, forget_account, record_verified_identity
    from .slot_horizon import SlotHorizon

    register_collector(SlotHorizon(database, load_catalog()))
    store = document_store(settings)

    return [
        EventConsumer(
            database,
            service=settings.service_name,
            group_id="booking-svc",
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.kafka_topic_prefix,
            handlers={
                IDENTITY_VERIFIED: record_verified_identity,
                ACCOUNT_DELETED: partial(forget_account, store=store),
            },
            consumer_options=settings.kafka_client_options,
        )
    ]


@click.command(
    "generate-slots",
    help="Bring counter slots in line with the offices' schedules (opening hours, counters per slot type, "
    "closures, public holidays): --weeks N ahead of today (the scheduled job, idempotent; default "
    "SLOT_WEEKS) or a --from/--to date range.",
)
@click.option(
    "--weeks",
    type=click.IntRange(min=1, max=52),
    help="Keep slots generated this many weeks ahead (default SLOT_WEEKS).",
)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (inclusive).")
@click.option("--office", "office_codes", multiple=True, help="Only these offices (repeatable); default all.")
def generate_slots_command(weeks: int | None, start: Any, end: Any, office_codes: tuple[str, ...]) -> None:
    from mai_chassis.logs import configure_logging

    from .catalog import load_catalog
    from .slot_horizon import generate_between, horizon_days, office_today

    if weeks is not None and (start is not None or end is not None):
        raise click.UsageError("--weeks and --from/--to exclude each other")
    if (start is None) != (end is None):
        raise click.UsageError("give both --from and --to, or neither (then --weeks N, default SLOT_WEEKS)")
    settings = Settings.from_env()
    configure_logging(settings.service_name, level=settings.log_level, json_format=settings.log_json)
    catalog = load_catalog()
    unknown = [code for code in office_codes if code not in catalog.offices]
    if unknown:
        raise click.BadParameter(f"unknown office(s): {', '.join(unknown)}", param_hint="--office")
    if start is None:
        first, last = horizon_days(office_today(), weeks or settings.slot_weeks)
    else:
        first, last = date.fromisoformat(f"{start:%Y-%m-%d}"), date.fromisoformat(f"{end:%Y-%m-%d}")
        if last < first:
            raise click.BadParameter("--to is before --from")
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        created = generate_between(database, catalog, first, last, office_codes or list(catalog.offices))
    finally:
        database.dispose()
    click.echo(f"booking-svc: {created} new slots from {first} to {last}")


definition = ServiceDefinition(
    name="booking-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    worker_loops=worker_loops,  # type: ignore[arg-type]
    commands=[generate_slots_command, retention.purge],
)

main = service_main("booking.service:definition")
