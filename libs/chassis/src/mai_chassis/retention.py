"""Retention jobs: remove, in bounded batches, the rows that outlived their class's term.

A service declares only its queries, one :class:`RetentionRule` per data class of
``contracts/mai_contracts/retention.yaml``; :func:`purge` does the rest for every service alike:

* the term comes from the retention table (or its setting), the cutoff from the explicit ``now``;
* each batch is its own short transaction: at most ``batch_size`` keys are chosen with
  ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and acted on, then committed, so several pods purging
  at once take disjoint rows and never wait on each other, and a stopped run loses nothing;
* a rule's query must stop choosing a row once it was acted on (a deleted row is gone, an
  anonymised one no longer matches), so a second run removes nothing: the job is idempotent;
* ``retention_rows_removed_total{service, class, action}`` counts the rows; logs carry counts only;
* the ``purge`` command, a job that ends before anything scrapes it, pushes the run's outcome to the
  Pushgateway named by ``PUSHGATEWAY_URL`` (:func:`push_purge_metrics`): rows per class and, only
  after a run that finished, ``retention_purge_last_success_timestamp_seconds`` (an alert watches it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from mai_contracts.retention import retention_class
from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway
from sqlalchemy import Select, delete, select, tuple_
from sqlalchemy.orm import Session

from .db import Database
from .tables import IdempotencyRecord, OutboxEvent

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PUSH_JOB",
    "RETENTION_ROWS_REMOVED",
    "KeySelect",
    "RetentionRule",
    "chassis_rules",
    "purge",
    "push_purge_metrics",
]

logger = logging.getLogger(__name__)

#: A SELECT of one or more key columns.
KeySelect: TypeAlias = "Select[*tuple[Any, ...]]"

DEFAULT_BATCH_SIZE = 500

RETENTION_ROWS_REMOVED = Counter(
    "retention_rows_removed_total",
    "Rows deleted, anonymised or archived because their retention term ended, per data class.",
    ["service", "class", "action"],
)


#: The Pushgateway job of every service's purge (grouped by ``service``).
PUSH_JOB = "retention-purge"
PUSH_TIMEOUT_SECONDS = 10.0


def push_purge_metrics(
    gateway_url: str, service: str, removed: Mapping[str, int], *, actions: Mapping[str, str]
) -> None:
    """Push one finished run of ``service``'s purge: its rows per class and the time it succeeded.

    A run that failed pushes nothing, so the last success stays where it was and the alert
    ``RetentionPurgeNotSucceeding`` fires once it is too old. A Pushgateway that cannot be reached
    is logged, not fatal: the purge itself succeeded.
    """
    registry = CollectorRegistry()
    rows = Gauge(
        "retention_purge_rows",
        "Rows acted on by the last finished run of the purge, per data class.",
        ["service", "class", "action"],
        registry=registry,
    )
    succeeded = Gauge(
        "retention_purge_last_success_timestamp_seconds",
        "When the purge last finished without an error, in Unix time.",
        ["service"],
        registry=registry,
    )
    for data_class, count in removed.items():
        rows.labels(service, data_class, actions.get(data_class, "delete")).set(count)
    succeeded.labels(service).set_to_current_time()
    try:
        push_to_gateway(
            gateway_url,
            job=PUSH_JOB,
            registry=registry,
            grouping_key={"service": service},
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except OSError as exc:
        logger.warning("purge metrics not pushed to the Pushgateway: %s", exc.__class__.__name__)


@dataclass(frozen=True)
class RetentionRule:
    """One data class's queries.

    ``candidates(cutoff)`` selects the key column(s) of the rows whose term ended before ``cutoff``
    (and that were not yet acted on); ``act(session, keys)`` deletes or anonymises those rows (and
    what hangs on them) in the batch's transaction; a key is a value, or a tuple for several columns.
    """

    data_class: str
    candidates: Callable[[datetime], KeySelect]
    act: Callable[[Session, Sequence[Any]], None]


def purge(
    database: Database,
    *,
    service: str,
    rules: Sequence[RetentionRule],
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    environ: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Apply every rule until nothing is left to do; rows acted on per data class."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    removed: dict[str, int] = {}
    for rule in rules:
        declared = retention_class(service, rule.data_class)
        cutoff = declared.term(environ).cutoff(now)
        total = 0
        previous: set[Any] = set()
        while True:
            query = rule.candidates(cutoff).limit(batch_size)
            if database.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            with database.session() as session:
                keys = [row[0] if len(row) == 1 else tuple(row) for row in session.execute(query)]
                if previous.intersection(keys):
                    # The rule left rows it acted on still matching: it would loop for ever.
                    raise RuntimeError(f"retention rule {rule.data_class} chose rows it already acted on")
                if keys:
                    rule.act(session, keys)
                session.commit()
            total += len(keys)
            previous = set(keys)
            RETENTION_ROWS_REMOVED.labels(service, rule.data_class, declared.action).inc(len(keys))
            if len(keys) < batch_size:
                break
        removed[rule.data_class] = total
        logger.info("retention %s: %d rows (%s) before %s", rule.data_class, total, declared.action, cutoff.isoformat())
    return removed


def chassis_rules() -> list[RetentionRule]:
    """The chassis' own tables every service has: published outbox rows and idempotency records."""

    def published_events(cutoff: datetime) -> KeySelect:
        return select(OutboxEvent.seq).where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff)

    def delete_events(session: Session, keys: Sequence[Any]) -> None:
        session.execute(delete(OutboxEvent).where(OutboxEvent.seq.in_(keys)))

    def expired_records(cutoff: datetime) -> KeySelect:
        return select(IdempotencyRecord.scope, IdempotencyRecord.key).where(IdempotencyRecord.created_at < cutoff)

    def delete_records(session: Session, keys: Sequence[Any]) -> None:
        session.execute(
            delete(IdempotencyRecord).where(tuple_(IdempotencyRecord.scope, IdempotencyRecord.key).in_(keys))
        )

    return [
        RetentionRule("outbox", published_events, delete_events),
        RetentionRule("idempotency-records", expired_records, delete_records),
    ]


def purge_command(service: str, settings_class: Any, rules: Callable[[Any], Sequence[RetentionRule]]) -> Any:
    """The ``<service> purge`` click command: applies ``rules(settings)`` plus :func:`chassis_rules` once."""
    import click

    @click.command("purge", help="Remove the data whose retention term ended (contracts retention.yaml).")
    @click.option("--batch-size", type=click.IntRange(min=1, max=10000), default=DEFAULT_BATCH_SIZE, show_default=True)
    def command(batch_size: int) -> None:
        from datetime import UTC

        from .logs import configure_logging

        settings = settings_class.from_env()
        configure_logging(service, level=settings.log_level, json_format=settings.log_json)
        database = Database(settings.database_url, pool_size=1, max_overflow=0)
        try:
            removed = purge(
                database,
                service=service,
                rules=[*rules(settings), *chassis_rules()],
                now=datetime.now(UTC),
                batch_size=batch_size,
            )
        finally:
            database.dispose()
        for data_class, count in removed.items():
            click.echo(f"{service}: {data_class}: {count}")
        if settings.pushgateway_url:
            actions = {name: retention_class(service, name).action for name in removed}
            push_purge_metrics(settings.pushgateway_url, service, removed, actions=actions)

    return command
