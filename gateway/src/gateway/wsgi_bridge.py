"""The gateway's own pages: its Flask application, called from the event loop in a thread.

These are the pages the gateway answers itself (health, readiness, metrics, the merged OpenAPI
document and its docs page, the event schemas) and the 404 problem of a path no route takes. They
are few and small, and some wait on the upstreams (readiness probes, OpenAPI documents), so they
run on a thread of a small pool while the loop goes on forwarding. A request body is read whole
first, up to :data:`MAX_BODY_BYTES` (none of these pages takes a body).
"""

from __future__ import annotations

import asyncio
import io
import sys
from concurrent.futures import Executor
from typing import Any
from urllib.parse import unquote_to_bytes

from aiohttp import web
from flask import Flask
from multidict import CIMultiDict

__all__ = ["MAX_BODY_BYTES", "call_wsgi", "own_paths"]

MAX_BODY_BYTES = 64 * 1024
#: The Flask endpoint of the catch-all rule (an unrouted path's 404); not one of the own pages.
CATCH_ALL_ENDPOINT = "proxy"


def own_paths(app: Flask) -> tuple[frozenset[str], tuple[str, ...]]:
    """The paths the Flask app answers itself: exact paths, and prefixes of the rules with variables.

    As in werkzeug's matching, such a rule wins over the catch-all; a route cannot take these paths.
    """
    exact, prefixes = set(), set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in (CATCH_ALL_ENDPOINT, "static"):
            continue
        text = rule.rule
        if "<" in text:
            prefixes.add(text[: text.index("<")])
        else:
            exact.add(text)
    return frozenset(exact), tuple(sorted(prefixes))


async def call_wsgi(app: Any, request: web.Request, executor: Executor, *, remote: str) -> web.Response:
    """Answer ``request`` with the WSGI application ``app``, run on ``executor``."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return web.Response(status=413, text="The request body is too large.")
    body = await request.content.read(MAX_BODY_BYTES + 1) if request.body_exists else b""
    if len(body) > MAX_BODY_BYTES:
        return web.Response(status=413, text="The request body is too large.")
    environ = _environ(request, body, remote)
    loop = asyncio.get_running_loop()
    status, headers, chunks = await loop.run_in_executor(executor, _run, app, environ)
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name.lower() != "content-length":
            out.add(name, value)
    if request.method == "HEAD":
        return web.Response(status=status, headers=out)
    return web.Response(status=status, body=b"".join(chunks), headers=out)


def _run(app: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [int(status.split(" ", 1)[0]), headers]
        return lambda _data: None  # the legacy write() callable: not used by Flask

    result = app(environ, start_response)
    try:
        chunks = [bytes(chunk) for chunk in result]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], chunks


def _environ(request: web.Request, body: bytes, remote: str) -> dict[str, Any]:
    path, _, query = request.raw_path.partition("?")
    host = request.headers.get("Host", "")
    server_name, _, server_port = host.partition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the path as bytes decoded as latin-1 (werkzeug decodes it again as UTF-8).
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name or "gateway",
        "SERVER_PORT": server_port or ("443" if request.secure else "80"),
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
        "REMOTE_ADDR": remote,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    content_type = request.headers.get("Content-Type")
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    for name, value in request.headers.items():
        if "_" in name:
            continue  # "X_Forwarded_For" would pass for X-Forwarded-For in the environ (gunicorn drops them too)
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            continue
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
