"""`mai-topics`: create the declared Kafka topics on a broker, or print the declaration as a table."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, Protocol, TextIO

from ._topics import Topic, analytics_topics, declared_topics

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS: Final = 30_000
CLIENT_ID: Final = "mai-topics"
EXIT_OK: Final = 0
EXIT_TOPIC_ERRORS: Final = 1
EXIT_BROKER_UNREACHABLE: Final = 2
_DAY_MS: Final = 86_400_000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What is asked of the broker for one topic."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(slots=True)
class CreationReport:
    """What `create` did: topics created, found already there, and those the broker refused."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # Existing topics whose partition count differs from the declaration: name -> (found, declared).
    partition_drift: dict[str, tuple[int, int]] = field(default_factory=dict)


class TopicAdmin(Protocol):
    """The part of kafka-python's KafkaAdminClient that `create` uses (a fake stands in for tests)."""

    def list_topics(self) -> list[str]: ...

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]: ...

    def create_topics(
        self,
        new_topics: dict[str, dict[str, Any]],
        timeout_ms: int | None = None,
        validate_only: bool = False,
        raise_errors: bool = True,
        wait_for_metadata: bool = False,
    ) -> dict[str, Any]: ...


def plan(
    topics: Iterable[Topic],
    *,
    replication_factor: int | None = None,
    min_insync: int | None = None,
) -> list[TopicSpec]:
    """Turn declared topics into broker requests, overriding replication where asked.

    min.insync.replicas is capped at the replication factor: a single local broker (factor 1)
    would otherwise refuse every acks=all write.
    """
    specs = []
    for t in topics:
        factor = replication_factor or t.replication_factor
        insync = min(min_insync or t.min_insync_replicas, factor)
        configs = {"retention.ms": str(t.retention_ms), "min.insync.replicas": str(insync)}
        specs.append(TopicSpec(t.name, t.partitions, factor, configs))
    return specs


def create(admin: TopicAdmin, specs: Sequence[TopicSpec], *, timeout_ms: int) -> CreationReport:
    """Create every missing topic of specs; leave existing ones alone and report them."""
    report = CreationReport()
    present = set(admin.list_topics())
    missing = [s for s in specs if s.name not in present]
    report.existing = [s.name for s in specs if s.name in present]
    if report.existing:
        report.partition_drift = _partition_drift(admin, [s for s in specs if s.name in present])
    if not missing:
        return report

    request = {
        s.name: {
            "num_partitions": s.partitions,
            "replication_factor": s.replication_factor,
            "configs": s.configs,
        }
        for s in missing
    }
    response = admin.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
    errors = _kafka_module("kafka.errors")

    outcomes = {t["name"]: t for t in response.get("topics", [])}
    for spec in missing:
        outcome = outcomes.get(spec.name)
        if outcome is None:
            report.failed[spec.name] = "no answer from the broker for this topic"
            continue
        error = errors.for_code(outcome.get("error_code", 0))
        if error.errno == 0:
            report.created.append(spec.name)
        elif error is errors.TopicAlreadyExistsError:  # created by someone else since list_topics()
            report.existing.append(spec.name)
        else:
            message = outcome.get("error_message") or ""
            report.failed[spec.name] = f"{error.__name__} {message}".strip()
    return report


def _kafka_module(name: str) -> ModuleType:
    """Import a kafka-python module, muting the deprecation warnings it raises while loading."""
    with warnings.catch_warnings():
        # kafka-python 3.0 reads its protocol files with importlib.resources' legacy read_text().
        warnings.filterwarnings("ignore", r"\w+ is deprecated\. Use files\(\) instead", DeprecationWarning)
        return importlib.import_module(name)


def _partition_drift(admin: TopicAdmin, specs: Sequence[TopicSpec]) -> dict[str, tuple[int, int]]:
    declared = {s.name: s.partitions for s in specs}
    try:
        described = admin.describe_topics(list(declared))
    except Exception:  # a report nicety only: never fail creation over it
        logger.warning("could not describe existing topics", exc_info=True)
        return {}
    drift = {}
    for item in described:
        name = item.get("name")
        found = len(item.get("partitions") or [])
        if name in declared and found and found != declared[name]:
            drift[name] = (found, declared[name])
    return drift


def format_table(topics: Iterable[Topic]) -> str:
    """Render topics as a fixed-width text table."""
    header = ("TOPIC", "OWNER", "PART", "RF", "ISR", "KEY", "RETENTION", "CLASS", "CONSUMERS")
    rows = [header] + [
        (
            t.name,
            t.owner,
            str(t.partitions),
            str(t.replication_factor),
            str(t.min_insync_replicas),
            t.key,
            _retention(t.retention_ms),
            t.classification,
            ",".join(t.consumers) or "-",
        )
        for t in topics
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _retention(ms: int) -> str:
    return f"{ms // _DAY_MS}d" if ms % _DAY_MS == 0 else f"{ms}ms"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mai-topics", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log Kafka client details")
    commands = parser.add_subparsers(dest="command", required=True)

    create_cmd = commands.add_parser(
        "create", help="create every declared topic, its dead-letter topic and its analytics copy"
    )
    create_cmd.add_argument("--bootstrap-servers", required=True, metavar="HOST:PORT[,HOST:PORT]")
    create_cmd.add_argument(
        "--replication-factor", type=_positive, metavar="N", help="override the declared factor (1 on one broker)"
    )
    create_cmd.add_argument(
        "--min-insync", type=_positive, metavar="N", help="override min.insync.replicas (capped at the factor)"
    )
    create_cmd.add_argument("--timeout-ms", type=_positive, default=DEFAULT_TIMEOUT_MS, metavar="MS")

    list_cmd = commands.add_parser("list", help="print the declared topics as a table")
    list_cmd.add_argument("--no-dlq", action="store_true", help="leave out the dead-letter topics")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, client_options: Mapping[str, Any] | None = None
) -> int:
    """Run the command line; return the process exit status.

    ``client_options`` are the admin client's security settings; the `mai-topics` command of
    ``mai_chassis.kafka_admin`` passes those it reads from the environment.
    """
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)

    if args.command == "list":
        listed = (*declared_topics(), *analytics_topics())
        print(format_table(t for t in listed if not (args.no_dlq and t.is_dlq)), file=out)
        return EXIT_OK
    return _run_create(args, out, client_options or {})


def _run_create(args: argparse.Namespace, out: TextIO, client_options: Mapping[str, Any]) -> int:
    admin_client = _kafka_module("kafka.admin").KafkaAdminClient
    kafka_error = _kafka_module("kafka.errors").KafkaError

    specs = plan(
        [*declared_topics(), *analytics_topics()],
        replication_factor=args.replication_factor,
        min_insync=args.min_insync,
    )
    try:
        admin = admin_client(
            bootstrap_servers=args.bootstrap_servers.split(","),
            client_id=CLIENT_ID,
            request_timeout_ms=args.timeout_ms,
            bootstrap_timeout_ms=args.timeout_ms,
            **client_options,
        )
    except kafka_error as exc:
        print(f"mai-topics: cannot reach Kafka at {args.bootstrap_servers}: {exc!r}", file=sys.stderr)
        return EXIT_BROKER_UNREACHABLE
    try:
        report = create(admin, specs, timeout_ms=args.timeout_ms)
    except kafka_error as exc:
        print(f"mai-topics: Kafka request failed: {exc!r}", file=sys.stderr)
        return EXIT_TOPIC_ERRORS
    finally:
        admin.close()

    by_name = {s.name: s for s in specs}
    for name in report.created:
        spec = by_name[name]
        print(
            f"created  {name} (partitions={spec.partitions}, replication={spec.replication_factor}, "
            f"retention.ms={spec.configs['retention.ms']}, "
            f"min.insync.replicas={spec.configs['min.insync.replicas']})",
            file=out,
        )
    for name in report.existing:
        drift = report.partition_drift.get(name)
        note = f" (has {drift[0]} partitions, declared {drift[1]})" if drift else ""
        print(f"exists   {name}{note}", file=out)
    for name, reason in report.failed.items():
        print(f"FAILED   {name}: {reason}", file=sys.stderr)
    print(
        f"{len(report.created)} created, {len(report.existing)} already there, {len(report.failed)} failed",
        file=out,
    )
    return EXIT_TOPIC_ERRORS if report.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
