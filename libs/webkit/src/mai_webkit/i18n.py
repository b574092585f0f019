"""Languages: Romanian by default, English one click away; catalogues compiled when the app starts.

Message catalogues (``.po``) are kept in the repository, one directory tree per page area
(``<dir>/<lang>/LC_MESSAGES/messages.po``), so areas are edited without touching each other's
files. :func:`compile_catalogues` turns them into ``.mo`` files in a temporary directory at start
(no build step, nothing compiled is committed) and Flask-Babel merges every directory it is given.

The chosen language is a plain preference cookie (``lang``), set by ``/language/<code>`` — a link,
so switching works without JavaScript — and read on every request.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, current_app, g, redirect, request
from flask_babel import Babel, format_date, format_datetime, get_locale, get_translations, lazy_gettext
from werkzeug.wrappers import Response

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "WEEKDAYS",
    "compile_catalogues",
    "current_language",
    "init_babel",
    "install_filters",
    "language_blueprint",
    "localised",
]

#: Languages offered, the first one the default.
LANGUAGES = ("ro", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
LANGUAGE_COOKIE = "lang"
#: The language names as each is written in itself (shown in the switch).
LANGUAGE_NAMES = {"ro": "Română", "en": "English"}
#: The days of the week as the APIs name them (opening hours), each with its label.
WEEKDAYS = (
    ("monday", lazy_gettext("Monday")),
    ("tuesday", lazy_gettext("Tuesday")),
    ("wednesday", lazy_gettext("Wednesday")),
    ("thursday", lazy_gettext("Thursday")),
    ("friday", lazy_gettext("Friday")),
    ("saturday", lazy_gettext("Saturday")),
    ("sunday", lazy_gettext("Sunday")),
)

WEBKIT_CATALOGUES = Path(__file__).parent / "translations" / "webkit"


def compile_catalogues(source_dirs: Iterable[Path], *, into: Path | None = None) -> list[str]:
    """Compile every ``<dir>/<lang>/LC_MESSAGES/*.po`` to ``.mo``; returns the compiled directories."""
    target_root = into or Path(tempfile.mkdtemp(prefix="mai-webkit-catalogues-"))
    compiled: list[str] = []
    for index, source in enumerate(source_dirs):
        target = target_root / f"{index:03d}-{source.name}"
        for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
            language = po_path.parent.parent.name
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=language)
            mo_path = target / language / "LC_MESSAGES" / (po_path.stem + ".mo")
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
        compiled.append(str(target))
    return compiled


def current_language() -> str:
    """The language of this request: the ``lang`` cookie when it names one we offer, else Romanian."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def init_babel(app: Flask, catalogue_dirs: Iterable[Path]) -> None:
    directories = compile_catalogues([WEBKIT_CATALOGUES, *catalogue_dirs])
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Bucharest"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=current_language)
    # Templates look their texts up with these (Flask-Babel's, but resolving the page's catalogue
    # once per request instead of three context look-ups and a locale name for every text).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _page_translations().ugettext(s),
        ngettext=lambda s, p, n: _page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _page_translations().unpgettext(c, s, p, n),
    )

    @app.context_processor
    def _languages() -> dict[str, object]:
        language = str(get_locale() or DEFAULT_LANGUAGE)
        return {
            "current_language": language,
            "other_languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES if code != language],
        }


def _page_translations() -> Any:
    """The request's catalogue, kept beside Flask-Babel's locale for the request: taken again only
    when the locale is another object (``force_locale``, ``refresh``) or not chosen yet."""
    babel_context = g.get("_flask_babel")
    locale = getattr(babel_context, "babel_locale", None)
    if locale is None:
        return get_translations()  # chooses the locale; the next text finds it
    kept = getattr(babel_context, "mai_translations", None)
    if kept is None or kept[0] is not locale:
        kept = (locale, get_translations())
        babel_context.mai_translations = kept  # type: ignore[union-attr]
    return kept[1]


def localised(value: Any) -> str:
    """``{"ro": ..., "en": ...}`` (the API's localised texts) in the page's language, else Romanian."""
    if isinstance(value, Mapping):
        language = str(get_locale() or DEFAULT_LANGUAGE)
        return str(value.get(language) or value.get(DEFAULT_LANGUAGE) or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def install_filters(app: Flask) -> None:
    """Template filters: ``localised``, ``day`` (a date, long form) and ``moment`` (date and time, Bucharest)."""

    def day(value: Any) -> str:
        parsed = _as_date(value)
        return format_date(parsed, "long") if parsed else ""

    def moment(value: Any) -> str:
        parsed = _as_datetime(value)
        return format_datetime(parsed, "d MMMM y, HH:mm") if parsed else ""

    app.jinja_env.filters.update(localised=localised, day=day, moment=moment)


def language_blueprint() -> Blueprint:
    """``GET /language/<code>?next=/path``: remember the language and go back to the page."""
    from .auth import safe_next

    blueprint = Blueprint("language", __name__)

    @blueprint.get("/language/<code>")
    def choose(code: str) -> Response:
        response = redirect(safe_next(request.args.get("next")), code=303)
        if code in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE,
                code,
                max_age=int(timedelta(days=365).total_seconds()),
                samesite="Lax",
                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
                httponly=True,
            )
        return response

    return blueprint
