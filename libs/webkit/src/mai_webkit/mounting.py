"""Where a front end sits in the site: behind the gateway, and under a path of its own.

The gateway sends a front end its pages with the path the browser asked for (``/staff/queue``)
and the public host name in ``X-Forwarded-Host``. :func:`mount_under` makes the prefix the app's
mount point (WSGI ``SCRIPT_NAME``), so its routes are written without it and ``url_for`` writes
it back; :func:`trust_forwarded_host` makes redirects and the CSRF check of an HTTPS form's
``Referer`` use the public host name instead of the front end's internal address.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["PROBE_PATHS", "PathPrefix", "mount_under", "trust_forwarded_host"]

#: Answered at the root whatever the prefix: the platform's probes and metrics scrapers ask there.
PROBE_PATHS = ("/healthz", "/readyz", "/metrics")


class PathPrefix:
    """WSGI middleware: ``<prefix>/...`` is served with ``<prefix>`` as the mount point; the bare
    root is sent to ``<prefix>/``; the probes answer at the root only (never under the prefix, which
    the site's Ingress exposes); any other path is not this app's (404)."""

    def __init__(self, app: Any, prefix: str, *, probes: Iterable[str] = PROBE_PATHS) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/")
        self.probes = tuple(probes)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        if path == self.prefix or path.startswith(self.prefix + "/"):
            inner = path[len(self.prefix) :] or "/"
            if inner in self.probes:  # the probes and metrics are the pod's, not the site's
                return _not_found(start_response)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = inner
            return self.app(environ, start_response)
        if path in self.probes:
            return self.app(environ, start_response)
        if path == "/":
            start_response("303 See Other", [("Location", self.prefix + "/"), ("Content-Length", "0")])
            return [b""]
        return _not_found(start_response)


def _not_found(start_response: Any) -> list[bytes]:
    body = b"Not Found"
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def mount_under(app: Flask, prefix: str) -> None:
    """Serve ``app`` under ``prefix`` (``/staff``); nothing to do for ``/``. Cookies stay on the prefix."""
    if prefix.strip("/"):
        app.wsgi_app = PathPrefix(app.wsgi_app, prefix)  # type: ignore[method-assign]
        app.config["SESSION_COOKIE_PATH"] = "/" + prefix.strip("/")


def trust_forwarded_host(app: Flask, hops: int) -> None:
    """Behind ``hops`` proxies (the gateway), take the host name from ``X-Forwarded-Host``."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_host=hops)  # type: ignore[method-assign]
