"""A service's definition and its command line: ``web``, ``worker``, ``migrate`` and its own commands.

Every service with a database also gets ``purge-idempotency`` (its worker runs the same purge
hourly). A service declares itself once::

    definition = ServiceDefinition(
        name="petition-svc",
        settings_class=Settings,
        create_app=create_app,
        migrations=Path(__file__).parent / "migrations",
        worker_loops=lambda settings, db: [],   # its consumers, if any
    )

and its console script is ``main = service_main("petition.service:definition")``.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from .config import ConfigurationError, ServiceSettings

__all__ = ["ServiceDefinition", "serve_with_gunicorn", "service_main"]

logger = logging.getLogger(__name__)


@dataclass
class ServiceDefinition:
    name: str
    settings_class: type[ServiceSettings]
    create_app: Callable[..., Any]
    migrations: Path | None = None
    #: Extra loops the worker runs besides the outbox relay (consumers, delivery loops...).
    worker_loops: Callable[[Any, Any], Sequence[Any]] | None = None
    #: Whether the worker runs an outbox relay (services that publish events).
    relays_outbox: bool = True
    #: Extra click commands (e.g. ``import-registry``, ``create-admin``).
    commands: list[click.Command] = field(default_factory=list)
    #: Run by ``migrate`` after the schema is current: data a fresh deployment cannot work
    #: without (identity-svc's first signing key). Must be idempotent.
    after_migrate: Callable[[Any], None] | None = None


def _load(path: str) -> ServiceDefinition:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


def _read_settings(definition: ServiceDefinition) -> Any:
    try:
        return definition.settings_class.from_env()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def service_main(definition_path: str) -> Callable[[], None]:
    """The console-script entry point of a service (``main = service_main("petition.service:definition")``)."""

    def main() -> None:
        _prepare_metrics_directory(web=len(sys.argv) > 1 and sys.argv[1] == "web")
        definition = _load(definition_path)
        _build_cli(definition)(prog_name=definition.name)

    return main


def _prepare_metrics_directory(*, web: bool) -> None:
    """Make ``PROMETHEUS_MULTIPROC_DIR`` usable before the first metric is written, for every command.

    prometheus_client chooses its multi-process mode when it is imported (the service's modules
    import it before this runs) and then writes one file per process into that directory at the
    first metric update. So:

    - a named directory that does not exist yet is created (images name ``/tmp/prometheus``,
      an empty ``/tmp`` volume in a pod); one that cannot be created or written is a clear
      startup error, not a crash at the first event;
    - ``web`` (gunicorn's processes share the directory) removes the counts of a previous run on
      its first start; other commands are one process and remove only the files of a dead
      process that had their process id (a restarted container's PID 1), never another live
      process's files;
    - without the variable, ``web`` re-executes itself with a directory of its own; an empty
      value would make prometheus_client write into the working directory, so it is dropped and
      the process re-executes itself without it.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is not None and not directory.strip():
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        if not web:
            os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606 (re-executes itself)
        directory = None
    if directory is None:
        if web:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
            os.environ["MAI_METRICS_DIR_READY"] = os.environ["MAI_OWN_METRICS_DIR"] = "1"
            os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606 (re-executes itself)
        return
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _metrics_directory_error(directory, f"cannot be created ({exc.strerror or exc})")
    if not path.is_dir():
        _metrics_directory_error(directory, "is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        _metrics_directory_error(directory, f"is not writable by user id {os.getuid()}")
    if web:
        if not os.environ.get("MAI_METRICS_DIR_READY"):
            for stale in path.glob("*.db"):  # counts of a previous run
                stale.unlink(missing_ok=True)
            os.environ["MAI_METRICS_DIR_READY"] = "1"
    else:
        for stale in path.glob(f"*_{os.getpid()}.db"):  # a dead process that had our process id
            stale.unlink(missing_ok=True)


def _metrics_directory_error(directory: str, problem: str) -> NoReturn:
    click.echo(
        f"PROMETHEUS_MULTIPROC_DIR={directory} {problem}: name a writable directory (an emptyDir "
        "volume in a pod) or unset the variable",
        err=True,
    )
    sys.exit(2)


def _build_cli(definition: ServiceDefinition) -> click.Group:
    @click.group(help=f"{definition.name}: web, worker and maintenance commands.")
    def cli() -> None:
        pass

    @cli.command(help="Serve the HTTP API with gunicorn.")
    @click.option("--bind", default=None, help="host:port (default 0.0.0.0:$PORT)")
    def web(bind: str | None) -> None:
        settings = _read_settings(definition)
        _serve(definition, settings, bind or f"0.0.0.0:{settings.port}")

    @cli.command(help="Run the outbox relay and the event consumers until SIGTERM.")
    def worker() -> None:
        from .db import Database
        from .logs import configure_logging
        from .outbox import OutboxRelay
        from .worker import run_worker

        settings = _read_settings(definition)
        configure_logging(definition.name, level=settings.log_level, json_format=settings.log_json)
        database = Database(settings.database_url, pool_size=4, max_overflow=4)
        loops: list[Any] = []
        if definition.relays_outbox:
            loops.append(
                OutboxRelay(
                    database,
                    service=definition.name,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    topic_prefix=settings.kafka_topic_prefix,
                    producer_options=settings.kafka_client_options,
                )
            )
        if definition.settings_class.needs_database:
            from .idempotency import IdempotencyPurge

            loops.append(IdempotencyPurge(database))
        if definition.worker_loops is not None:
            try:
                loops.extend(definition.worker_loops(settings, database))
            except ConfigurationError as exc:  # e.g. a key only the worker needs
                click.echo(str(exc), err=True)
                sys.exit(2)
        run_worker(loops, metrics_port=settings.metrics_port, stall_after=settings.worker_stall_seconds)

    @cli.command(help="Apply database migrations (chassis tables, then the service's) and exit.")
    def migrate() -> None:
        from .logs import configure_logging
        from .migrations import upgrade

        settings = _read_settings(definition)
        configure_logging(definition.name, level=settings.log_level, json_format=settings.log_json)
        upgrade(settings.database_url, definition.migrations)
        if definition.after_migrate is not None:
            definition.after_migrate(settings)
        click.echo(f"{definition.name}: database is up to date")

    if definition.settings_class.needs_database:

        @cli.command("purge-idempotency", help="Delete Idempotency-Key records older than their lifetime (24 h).")
        @click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1))
        def purge_idempotency(batch_size: int) -> None:
            from .db import Database
            from .idempotency import purge_expired_records
            from .logs import configure_logging

            settings = _read_settings(definition)
            configure_logging(definition.name, level=settings.log_level, json_format=settings.log_json)
            database = Database(settings.database_url)
            try:
                deleted = purge_expired_records(database, batch_size=batch_size)
            finally:
                database.dispose()
            click.echo(f"{definition.name}: {deleted} expired idempotency records purged")

    for command in definition.commands:
        cli.add_command(command)
    return cli


def _serve(definition: ServiceDefinition, settings: Any, bind: str) -> None:
    serve_with_gunicorn(
        lambda: definition.create_app(settings),
        name=definition.name,
        max_requests=settings.web_max_requests,
        bind=bind,
        workers=settings.web_concurrency,
        worker_class="gthread",
        threads=settings.web_threads,
    )


#: gunicorn's settings for every web process: an idle kept-alive connection is closed after this ...
KEEPALIVE_SECONDS = 5
#: ... and a worker told to stop has this long to finish the requests in hand.
GRACEFUL_STOP_SECONDS = 20


def serve_with_gunicorn(load: Callable[[], Any], *, name: str, max_requests: int, **options: Any) -> None:
    """Run gunicorn's master and workers serving the app ``load()`` answers, until SIGTERM: ``options``
    (bind, workers, worker class, ...) over the platform's own (timeouts, a worker recycled after about
    ``max_requests``, no access log, no control socket, a dead worker's metrics marked)."""
    from gunicorn.app.base import BaseApplication

    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    def child_exit(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    settings: dict[str, Any] = {
        "timeout": 30,
        "graceful_timeout": GRACEFUL_STOP_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,
        "accesslog": None,
        "child_exit": child_exit,
        "proc_name": name,
        # gunicorn's control socket is one path per user: several services on one host would clash.
        "control_socket_disable": True,
        **options,
    }

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return load()

    master = os.getpid()
    try:
        Application().run()
    finally:
        # Workers leave through here too (gunicorn ends a forked worker with SystemExit): only the
        # master removes the directory, or a recycled worker would pull it from under the others.
        if multiproc_dir and os.environ.get("MAI_OWN_METRICS_DIR") and os.getpid() == master:
            shutil.rmtree(multiproc_dir, ignore_errors=True)
