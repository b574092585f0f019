"""Rendered fragments that are the same for every visitor: rendered once per language, kept while
the data they were drawn from is unchanged.

A page with a long invariant part (the petition form's institutions and fields) renders that part
through :func:`render_shared` with ``source``, the object the fragment is drawn from (an answer of
:func:`mai_webkit.api.public_json`, which stays the same object while it is cached). The fragment
is rendered again when the language differs or ``source`` is another object. Only for content
that depends on nothing else of the request: never a form's data, errors, CSRF token or a person's
details.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup

from .i18n import current_language

__all__ = ["SharedFragments", "render_shared"]


class SharedFragments:
    """Per process: ``(template, language) -> (source, rendered HTML)``."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[object, Markup]] = {}
        self._lock = threading.Lock()

    def render(self, template: str, *, source: object, **context: Any) -> Markup:
        key = (template, current_language())
        entry = self._entries.get(key)
        if entry is not None and entry[0] is source:
            return entry[1]
        # The entry holds ``source``: while it is kept, no other object can take its identity.
        html = Markup(render_template(template, **context))  # noqa: S704 (a template's output, escaped by Jinja)
        with self._lock:
            self._entries[key] = (source, html)
        return html


def render_shared(template: str, *, source: object, **context: Any) -> Markup:
    """``template`` rendered with ``context``, reused for every visitor of the same language while
    ``source`` is the same object (see the module's docstring for what may be rendered so)."""
    fragments: SharedFragments = current_app.extensions["mai_webkit"].fragments
    return fragments.render(template, source=source, **context)
