"""``gateway web``: gunicorn with gevent workers, one event loop per process instead of a thread per request.

A request through a gateway spends nearly all its life waiting, on the upstream or on the client.
With a thread per request (the services' ``gthread`` workers) as many slow requests as there are
threads fill a process. The citizen portal's pages are such requests, and the portal's own API
calls come back through the gateway while those pages wait on them: with every thread holding a
page, the calls queue until they time out. Here each connection is a greenlet; waiting costs a
little memory, not a thread, and the CPU goes to requests rather than to switching threads.

- :func:`main` (the console script) patches the standard library for gevent (sockets, threads,
  locks, ``time.sleep``) before anything else is imported for ``web``: ``requests``/``urllib3``
  to the upstreams, the rate limiter's Redis client, the readiness probes' thread pool and the
  route file's checks then all yield to the loop instead of blocking it.
- ``--internal-bind`` (``GATEWAY_INTERNAL_PORT``) opens a second listener, the address the citizen
  portal calls the API on. gunicorn gives each listener its own pool of
  ``GATEWAY_WORKER_CONNECTIONS`` connections, so public traffic, however much of it, can never
  fill the pool the portal's calls are accepted from.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

    from .config import Settings

__all__ = ["main", "web_command"]

#: gunicorn's worker class: its own HTTP parser (as the services'), connections as greenlets.
WORKER_CLASS = "gevent"


def main() -> None:
    """The ``gateway`` console script: the chassis' commands, with ``web`` served on gevent."""
    if sys.argv[1:2] == ["web"]:
        from gevent import monkey

        # First, before Flask, requests or the chassis are imported: modules that took references
        # to the blocking socket, ssl or threading objects at import would otherwise keep them.
        monkey.patch_all()
    from .service import main as service_main

    service_main()


def web_command() -> click.Command:
    """``web``, replacing the chassis' (gthread) one among the gateway's commands."""
    import click
    from mai_chassis import ConfigurationError

    from .config import Settings

    @click.command("web", help="Serve the gateway with gunicorn's gevent workers.")
    @click.option("--bind", default=None, help="host:port of the public listener (default 0.0.0.0:$PORT)")
    @click.option(
        "--internal-bind",
        default=None,
        help="host:port of the listener for the front ends' API calls (default 0.0.0.0:$GATEWAY_INTERNAL_PORT if set)",
    )
    def web(bind: str | None, internal_bind: str | None) -> None:
        try:
            settings = Settings.from_env()
        except ConfigurationError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        if internal_bind is None and settings.internal_port:
            internal_bind = f"0.0.0.0:{settings.internal_port}"
        serve(settings, [bind or f"0.0.0.0:{settings.port}", *([internal_bind] if internal_bind else [])])

    return web


def serve(settings: Settings, binds: list[str]) -> None:
    """Run gunicorn's master and its gevent workers on ``binds`` until SIGTERM."""
    from mai_chassis.service import serve_with_gunicorn

    from . import create_app

    serve_with_gunicorn(
        lambda: create_app(settings),
        name="gateway",
        max_requests=settings.web_max_requests,
        bind=binds,
        workers=settings.web_concurrency,
        worker_class=WORKER_CLASS,
        worker_connections=settings.worker_connections,
    )
