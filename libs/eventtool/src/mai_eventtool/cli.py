"""`mai-events`: tail or export a topic with every event checked against its contract and personal data redacted.

By default a topic is read from its analysts' copy `analytics.<topic>`, written by the redaction
stream (personal values already pseudonymised, sealed fields removed): the only topics an analyst
may read. `--original` reads the topic itself, for operators whose account may (redacted here,
unless `--show-pii`, which only works with `--original`); dead-letter topics have no copy.

    mai-events tail petition.submitted --from-beginning --max 10
    mai-events tail certificate.issued --since 2025-03-14T09:00:00Z --timeout 5
    mai-events export petition.submitted --format parquet --output petitions.parquet
    mai-events dictionary > docs/data-dictionary.md

Exit status: 0 when every event read kept its contract, 1 when one broke it or was not a
CloudEvent at all (each is reported on standard error), 2 on a usage or connection error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

import mai_contracts
from kafka.errors import KafkaError

from .dictionary import render_data_dictionary
from .formats import FORMATS, write_records
from .reading import StartPosition, TopicNotFoundError, read_topic
from .records import EventRecord, Undecodable, record_from_message

__all__ = ["main"]

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_CONTRACT_BROKEN, EXIT_USAGE = 0, 1, 2
PII_WARNING = (
    "WARNING: --show-pii: personal data (fields marked x-pii) is shown unredacted. "
    "Do not store, share or paste this output; use it only for the case you are handling."
)


class _Tally:
    """Counts what was read and reports each problem event on standard error as it goes."""

    def __init__(self, errors: TextIO) -> None:
        self.errors = errors
        self.valid = self.invalid = self.undecodable = 0

    def records(self, found: Iterator[EventRecord | Undecodable]) -> Iterator[EventRecord]:
        for item in found:
            if isinstance(item, Undecodable):
                self.undecodable += 1
                self.errors.write(f"NOT AN EVENT {item.topic}[{item.partition}]@{item.offset}: {item.reason}\n")
                continue
            if item.valid:
                self.valid += 1
            else:
                self.invalid += 1
                self.errors.write(
                    f"CONTRACT BROKEN {item.topic}[{item.partition}]@{item.offset} event {item.id} ({item.type}): "
                    + "; ".join(item.contract_errors)
                    + "\n"
                )
            yield item

    def summary(self) -> str:
        return f"{self.valid} valid, {self.invalid} breaking their contract, {self.undecodable} not CloudEvents"

    @property
    def exit_code(self) -> int:
        return EXIT_CONTRACT_BROKEN if self.invalid or self.undecodable else EXIT_OK


def _iso_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mai-events", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def reading_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("topic", help="contract topic name, e.g. petition.submitted (a .dlq topic works too)")
        command.add_argument(
            "--bootstrap-servers",
            default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            help="host:port[,host:port]; default: $KAFKA_BOOTSTRAP_SERVERS",
        )
        command.add_argument("--topic-prefix", default="", help="prefix of the real topic name (test environments)")
        start = command.add_mutually_exclusive_group()
        start.add_argument("--from-beginning", action="store_true", help="start at the oldest retained event")
        start.add_argument("--offset", type=int, metavar="N", help="start at offset N of every partition")
        start.add_argument("--since", type=_iso_time, metavar="ISO-TIME", help="start at the first event at or after")
        command.add_argument("--max", type=int, metavar="N", dest="max_events", help="stop after N events")
        command.add_argument(
            "--original",
            action="store_true",
            help="read the original topic, not its redacted copy analytics.<topic> (operators only)",
        )
        command.add_argument(
            "--show-pii",
            action="store_true",
            help="with --original: do NOT redact x-pii fields (prints a warning; use with care)",
        )

    tail = commands.add_parser("tail", help="print events as JSON lines (new ones, unless a start is given)")
    reading_options(tail)
    tail.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds without a new event")

    export = commands.add_parser("export", help="write a topic's events (from the beginning, by default) to a file")
    reading_options(export)
    export.add_argument("--format", choices=FORMATS, required=True, dest="export_format")
    export.add_argument("--output", type=Path, required=True, help="file to write")
    export.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="give up after S seconds without a new event"
    )

    commands.add_parser("dictionary", help="print the data dictionary (Markdown) generated from the contracts")
    return parser


def _records(
    args: argparse.Namespace, start: StartPosition, *, stop_at_end: bool
) -> Iterator[EventRecord | Undecodable]:
    contract_topic = mai_contracts.topic(args.topic)
    copy = _reads_analytics_copy(args)
    if contract_topic.copy_of is not None:
        contract_topic = mai_contracts.topic(contract_topic.copy_of)
    name = mai_contracts.ANALYTICS_PREFIX + contract_topic.name if copy else args.topic
    for message in read_topic(
        args.bootstrap_servers,
        args.topic_prefix + name,
        start,
        max_messages=args.max_events,
        idle_timeout_s=args.timeout,
        stop_at_end=stop_at_end,
    ):
        yield record_from_message(
            message.topic,
            message.partition,
            message.offset,
            message.value,
            contract_topic=contract_topic,
            show_pii=args.show_pii,
            pseudonymised=copy,
        )


def _reads_analytics_copy(args: argparse.Namespace) -> bool:
    """Whether the redacted copy is read: by default, and always for a topic named `analytics.*`."""
    declared = mai_contracts.topic(args.topic)
    return declared.copy_of is not None or (not args.original and not declared.is_dlq)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, errors: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    out = out or sys.stdout
    errors = errors or sys.stderr
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), stream=errors)
    args = _parser().parse_args(argv)
    if args.command == "dictionary":
        out.write(render_data_dictionary())
        return EXIT_OK
    try:
        mai_contracts.topic(args.topic)
    except KeyError as exc:
        errors.write(f"mai-events: {exc.args[0]}\n")
        return EXIT_USAGE
    if not args.bootstrap_servers:
        errors.write("mai-events: no broker: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS\n")
        return EXIT_USAGE
    if args.show_pii and _reads_analytics_copy(args):
        errors.write("mai-events: --show-pii needs --original (the analytics topics hold no personal data)\n")
        return EXIT_USAGE
    if args.show_pii:
        errors.write(PII_WARNING + "\n")
        logger.warning("personal data shown unredacted for topic %s", args.topic)
    try:
        start = StartPosition.from_options(
            from_beginning=args.from_beginning,
            offset=args.offset,
            since=args.since,
            default="end" if args.command == "tail" else "beginning",
        )
    except ValueError as exc:
        errors.write(f"mai-events: {exc}\n")
        return EXIT_USAGE
    tally = _Tally(errors)
    try:
        if args.command == "tail":
            for record in tally.records(_records(args, start, stop_at_end=False)):
                out.write(json.dumps(record.as_json(), ensure_ascii=False) + "\n")
                out.flush()
        else:
            contract_topic = mai_contracts.topic(args.topic)
            if contract_topic.copy_of is not None:
                contract_topic = mai_contracts.topic(contract_topic.copy_of)
            written = write_records(
                tally.records(_records(args, start, stop_at_end=True)),
                args.output,
                args.export_format,
                contract_topic.event_type,
            )
            errors.write(f"exported {written} events of {args.topic} to {args.output} ({args.export_format})\n")
    except (TopicNotFoundError, KafkaError) as exc:
        errors.write(f"mai-events: {exc.__class__.__name__}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    errors.write(f"mai-events: {tally.summary()}\n")
    return tally.exit_code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
