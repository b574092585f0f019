"""``gateway web``: gunicorn's master with aiohttp's uvloop workers, one event loop per process.

A request through a gateway spends nearly all its life waiting, on the upstream or on the client.
With a thread per request (the services' ``gthread`` workers) as many slow requests as there are
threads fill a process. The citizen portal's pages are such requests, and the portal's own API
calls come back through the gateway while those pages wait on them: with every thread holding a
page, the calls would queue until they time out. Here each connection is a coroutine on the
process' loop; waiting costs a little memory, not a thread, and the CPU goes to requests.

The loop is uvloop; a connection starts on the lean lane of :mod:`gateway.edge_server` (llhttp
parses the clients' requests and the upstreams' answers, :mod:`gateway.upstream_client`), which
hands it to aiohttp's server for anything but a plain routed request: forwarding a request costs a
fraction of what the Flask gateway on gevent cost (``bench/README.md``). gunicorn keeps the master's part:
it forks the workers, restarts one that dies or has served about ``WEB_MAX_REQUESTS``, and stops
them gracefully on SIGTERM.

- ``--internal-bind`` (``GATEWAY_INTERNAL_PORT``) opens a second listener, the address the citizen
  portal calls the API on, so that its calls never wait behind public connections in the kernel's
  accept queue of the public port.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import click
    from aiohttp import web

    from .config import Settings

__all__ = ["WORKER_CLASS", "main", "runner_factory", "web_command"]

#: gunicorn's worker class: aiohttp's, on uvloop.
WORKER_CLASS = "aiohttp.worker.GunicornUVLoopWebWorker"


def main() -> None:
    """The ``gateway`` console script: the chassis' commands, ``web`` served on the event loop."""
    from .service import main as service_main

    service_main()


def web_command() -> click.Command:
    """``web``, replacing the chassis' (gthread) one among the gateway's commands."""
    import click
    from mai_chassis import ConfigurationError

    from .config import Settings

    @click.command("web", help="Serve the gateway with gunicorn and aiohttp's event-loop workers.")
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
    """Run gunicorn's master and its event-loop workers on ``binds`` until SIGTERM."""
    from mai_chassis.service import serve_with_gunicorn

    serve_with_gunicorn(
        lambda: runner_factory(settings),
        name="gateway",
        max_requests=settings.web_max_requests,
        bind=binds,
        workers=settings.web_concurrency,
        worker_class=WORKER_CLASS,
    )


def runner_factory(settings: Settings) -> Callable[[], Awaitable[web.AppRunner]]:
    """What each worker runs: the gateway's application behind :class:`~gateway.edge_server.EdgeServer`.

    aiohttp's worker takes a coroutine function returning a runner as it takes an application; the
    runner then carries the settings the worker would have passed (gunicorn's keep-alive, and most
    of its graceful-stop time for the requests in hand).
    """
    from mai_chassis.service import GRACEFUL_STOP_SECONDS, KEEPALIVE_SECONDS

    from .edge import build_server_app
    from .edge_server import EdgeRunner

    async def make_runner() -> web.AppRunner:
        return EdgeRunner(
            build_server_app(settings),
            keepalive_timeout=KEEPALIVE_SECONDS,
            shutdown_timeout=GRACEFUL_STOP_SECONDS * 0.95,
            access_log=None,
        )

    return make_runner
