"""The public gateway: routes citizens' requests to the service that owns them, and nothing more.

``gateway web`` (:mod:`gateway.server`) serves the aiohttp application of :mod:`gateway.edge`,
which forwards routed requests itself and hands the gateway's own pages to the Flask application
``create_app`` builds (:mod:`gateway.app`). Importing this package imports nothing else.
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
