"""The public gateway: routes citizens' requests to the service that owns them, and nothing more.

``create_app`` builds the Flask application (:mod:`gateway.app`); ``gateway web`` serves it on an
event loop (:mod:`gateway.server`). Importing this package imports nothing else: the server must
patch the standard library's sockets for gevent before Flask, ``requests`` or the chassis load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """The gateway's WSGI application, with ``settings`` or the ones read from the environment."""
    from .app import build_app
    from .config import Settings

    return build_app(settings or Settings.from_env())
