"""portal-svc's definition: its web app, its migrations (the sessions table) and command line."""

from __future__ import annotations

from pathlib import Path

import click
from mai_chassis import ServiceDefinition, service_main

from . import create_app
from .config import Settings

PACKAGE = Path(__file__).parent
#: Areas whose texts are not in areas/<area>.py and templates/<area>/ (see the README).
CATALOGUE_SOURCES = {"site": ["navigation.py", "templates/layout.html"], "fields": ["form_fields.py"]}


@click.group(help="The page areas' message catalogues (translations/<area>/<lang>/LC_MESSAGES/messages.po).")
def catalogue() -> None:
    pass


@catalogue.command(help="Collect the areas' texts into their catalogues (all areas unless named).")
@click.argument("areas", nargs=-1)
@click.option("--language", default="ro", show_default=True)
def update(areas: tuple[str, ...], language: str) -> None:
    from mai_webkit.catalogues import update_area

    names = areas or tuple(sorted(p.name for p in (PACKAGE / "translations").iterdir() if p.is_dir()))
    for area in names:
        click.echo(update_area(PACKAGE, area, language=language, extra_sources=CATALOGUE_SOURCES))


@catalogue.command(help="List texts without a translation; exits 1 if there is one.")
@click.option("--language", default="ro", show_default=True)
def check(language: str) -> None:
    from mai_webkit.catalogues import missing_translations

    missing = missing_translations(PACKAGE, language=language)
    for area, texts in missing.items():
        for text in texts:
            click.echo(f"{area}: {text}")
    raise SystemExit(1 if missing else 0)


definition = ServiceDefinition(
    name="portal-svc",
    settings_class=Settings,
    create_app=create_app,
    migrations=Path(__file__).parent / "migrations",
    relays_outbox=False,
    commands=[catalogue],
)

main = service_main("portal.service:definition")
