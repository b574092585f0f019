"""The template registry: versioned Jinja2 templates per event type and language (see templates/README.md).

A version folder holds, per language, either one ``<lang>.mail`` (the subject on its first line,
then the body as plain text; the plain-text and HTML mails are built from it with the frames in
``_layout/``) or the three parts ``<lang>.subject``, ``<lang>.txt`` and ``<lang>.html`` written by
hand. A part written by hand wins over the one built from ``<lang>.mail``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from markupsafe import Markup, escape

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "TEMPLATES_DIR",
    "RenderedMail",
    "TemplateMissingError",
    "TemplateRegistry",
]

LANGUAGES = ("ro", "en")
DEFAULT_LANGUAGE = "ro"
TEMPLATES_DIR = Path(__file__).parent / "templates"
PARTS = ("subject", "txt", "html")
ONE_FILE = "mail"
LOCAL_TIME = ZoneInfo("Europe/Bucharest")

_MONTHS = {
    "ro": (
        "ianuarie", "februarie", "martie", "aprilie", "mai", "iunie",
        "iulie", "august", "septembrie", "octombrie", "noiembrie", "decembrie",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
_BLANK_LINES = re.compile(r"\n{3,}")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
_PART_NAME = re.compile(r"^(?P<folder>.+)/(?P<language>[a-z]{2})\.(?P<part>subject|txt|html|body)$")
_LINK = re.compile(r"https?://[^\s<>\"]+")
# What the parts built from a one-file template are (``{body}`` is the template's text after its subject).
_BUILT = {
    "txt": '{{% extends "_layout/base.txt" %}}\n{{% block body %}}\n{body}{{% endblock %}}\n',
    "html": '{{% extends "_layout/base.html" %}}\n{{% block title %}}{{{{ subject }}}}{{% endblock %}}\n'
    "{{% block body %}}{{{{ body_html }}}}{{% endblock %}}\n",
    "body": "{body}",
}


class _TemplateLoader(FileSystemLoader):
    """Files as they are, and the parts a one-file ``<lang>.mail`` template stands for."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except TemplateNotFound:
            match = _PART_NAME.match(template)
            if not match:
                raise
        source, filename, uptodate = super().get_source(
            environment, f"{match['folder']}/{match['language']}.{ONE_FILE}"
        )
        subject, _, body = source.partition("\n")
        part = match["part"]
        built = subject + "\n" if part == "subject" else _BUILT[part].format(body=body.lstrip("\n"))
        return built, filename, uptodate


def _linked(line: str) -> Markup:
    """One line of text, escaped, with its web addresses as links."""
    parts: list[Markup] = []
    last = 0
    for match in _LINK.finditer(line):
        parts.append(escape(line[last : match.start()]))
        parts.append(Markup('<a href="{0}" style="color:#002b7f;">{0}</a>').format(match.group(0)))
        last = match.end()
    parts.append(escape(line[last:]))
    return Markup("").join(parts)


def _as_html(text: str) -> Markup:
    """Plain text as HTML paragraphs: escaped, one line break kept as <br>, addresses made links."""
    paragraphs = [
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_linked(line) for line in block.splitlines()))
        for block in re.split(r"\n\s*\n", text.strip())
    ]
    return Markup("\n").join(paragraphs) + Markup("\n")


class TemplateMissingError(LookupError):
    """No template for this event type (or language): the event cannot become a mail."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TIME).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return _as_datetime(text).date()
    return date.fromisoformat(text)


def _as_datetime(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(LOCAL_TIME) if moment.tzinfo else moment


class TemplateRegistry:
    """Finds and renders the templates under ``directory`` for one public site address."""

    def __init__(self, *, public_base_url: str, directory: Path = TEMPLATES_DIR) -> None:
        self.directory = Path(directory)
        self.public_base_url = public_base_url.rstrip("/")
        self._environments = {language: self._environment(language) for language in LANGUAGES}

    def _environment(self, language: str) -> Environment:
        environment = Environment(
            loader=_TemplateLoader(str(self.directory)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        labels = self._labels(language)
        months = _MONTHS[language]

        def format_date(value: Any) -> str:
            day = _as_date(value)
            return f"{day.day} {months[day.month - 1]} {day.year}"

        def format_datetime(value: Any) -> str:
            moment = _as_datetime(value)
            clock = f"{moment.hour:02d}:{moment.minute:02d}"
            day = f"{moment.day} {months[moment.month - 1]} {moment.year}"
            return f"{day}, ora {clock}" if language == "ro" else f"{day}, {clock}"

        def label(kind: str, code: Any) -> str:
            return str(labels.get(kind, {}).get(str(code), code))

        def url(path: str, **query: Any) -> str:
            link = self.public_base_url + "/" + path.lstrip("/")
            return f"{link}?{urlencode(query)}" if query else link

        environment.filters.update(date=format_date, datetime=format_datetime)
        environment.globals.update(label=label, url=url, public_base_url=self.public_base_url)
        return environment

    def _labels(self, language: str) -> Mapping[str, Mapping[str, str]]:
        path = self.directory / "_labels" / f"{language}.yaml"
        if not path.exists():
            return {}
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return loaded if isinstance(loaded, dict) else {}

    # -- lookup ------------------------------------------------------------------------------------

    @functools.cache  # noqa: B019 (one registry per process; the template tree does not change)
    def latest_version(self, event_type: str) -> int:
        """The highest template version of ``event_type``; :class:`TemplateMissingError` when there is none."""
        folder = self.directory / event_type
        versions = [
            int(match.group(1))
            for child in (folder.iterdir() if folder.is_dir() else ())
            if child.is_dir() and (match := _VERSION_DIR.match(child.name))
        ]
        if not versions:
            raise TemplateMissingError(f"no template for {event_type}")
        return max(versions)

    def missing_parts(self, event_type: str) -> list[str]:
        """The files the latest version of ``event_type`` lacks (empty when complete).

        A language is complete with its ``<lang>.mail``, or with all three hand-written parts.
        """
        try:
            version = self.latest_version(event_type)
        except TemplateMissingError:
            return [f"{event_type}/v1/{language}.{ONE_FILE}" for language in LANGUAGES]
        folder = self.directory / event_type / f"v{version}"
        missing = []
        for language in LANGUAGES:
            if (folder / f"{language}.{ONE_FILE}").is_file():
                continue
            parts = [part for part in PARTS if not (folder / f"{language}.{part}").is_file()]
            if len(parts) == len(PARTS):
                missing.append(f"{event_type}/v{version}/{language}.{ONE_FILE}")
            else:
                missing.extend(f"{event_type}/v{version}/{language}.{part}" for part in parts)
        return missing

    # -- rendering ---------------------------------------------------------------------------------

    def _render(self, event_type: str, version: int, language: str, part: str, context: Mapping[str, Any]) -> str:
        if language not in LANGUAGES:
            raise TemplateMissingError(f"no {language!r} templates")
        name = f"{event_type}/v{version}/{language}.{part}"
        try:
            template = self._environments[language].get_template(name)
        except TemplateNotFound:
            raise TemplateMissingError(f"template {name} not found") from None
        return template.render(context)

    @staticmethod
    def context(data: Mapping[str, Any], *, event: Mapping[str, Any], language: str) -> dict[str, Any]:
        """What a template sees: the event's data fields, ``event`` and ``language``."""
        return {**data, "event": dict(event), "language": language}

    def render_subject(self, event_type: str, version: int, language: str, context: Mapping[str, Any]) -> str:
        # One line: a header must never carry a line break (header injection).
        return " ".join(self._render(event_type, version, language, "subject", context).split())

    def render_mail(self, event_type: str, version: int, language: str, context: Mapping[str, Any]) -> RenderedMail:
        subject = self.render_subject(event_type, version, language, context)
        full: dict[str, Any] = {**context, "subject": subject}
        if (self.directory / event_type / f"v{version}" / f"{language}.{ONE_FILE}").is_file():
            full["body_html"] = _as_html(self._render(event_type, version, language, "body", full))
        return RenderedMail(
            subject=subject,
            # Optional paragraphs leave blank lines behind; a plain-text mail keeps at most one.
            text=_BLANK_LINES.sub("\n\n", self._render(event_type, version, language, "txt", full)),
            html=self._render(event_type, version, language, "html", full),
        )
