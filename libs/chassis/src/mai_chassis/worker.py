"""The ``worker`` process: outbox relay and event consumers in threads, metrics, clean stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from .metrics import render_metrics

__all__ = ["Runnable", "WorkerHealth", "run_worker"]

logger = logging.getLogger(__name__)


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


class WorkerHealth:
    """Liveness of the worker: every loop thread must still be running."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self.threads)


def _metrics_server(port: int, health: WorkerHealth) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = render_metrics()
                status = 200
            elif self.path == "/healthz":
                ok = health.alive()
                body, content_type, status = (
                    b'{"status":"ok"}' if ok else b'{"status":"a loop has stopped"}',
                    "application/json",
                    200 if ok else 503,
                )
            else:
                body, content_type, status = b"not found", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 (scraped from the pod network)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def run_worker(
    loops: Iterable[Runnable],
    *,
    metrics_port: int | None = None,
    stop: threading.Event | None = None,
    install_signal_handlers: bool = True,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run every loop in its own thread until SIGTERM/SIGINT (or ``stop``), then join them."""
    stop = stop or threading.Event()
    if install_signal_handlers:

        def _request_stop(signum: int, _frame: Any) -> None:
            logger.info("signal %s received: finishing current work and stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)

    health = WorkerHealth()
    server = _metrics_server(metrics_port, health) if metrics_port else None
    for loop in loops:
        thread = threading.Thread(target=loop.run, args=(stop,), name=type(loop).__name__, daemon=True)
        health.threads.append(thread)
        thread.start()
    if on_started:
        on_started()
    try:
        while not stop.is_set():
            if not health.alive():
                logger.error("a worker loop died; stopping the worker so that it is restarted")
                stop.set()
                break
            stop.wait(1.0)
    finally:
        for thread in health.threads:
            thread.join(timeout=30)
        if server is not None:
            server.shutdown()
            server.server_close()
    logger.info("worker stopped")
