"""Message catalogues of a web front end, one per page area: extract, update, check.

An app lays its page areas out as::

    <package>/areas/<area>.py            (and areas/<area>_*.py, areas/<area>/**.py)
    <package>/templates/<area>/**.html
    <package>/translations/<area>/ro/LC_MESSAGES/messages.po

``update`` collects the area's texts (``_``, ``gettext``, ``lazy_gettext``, ``ngettext`` in Python;
``_``/``gettext``/``{% trans %}`` in templates) and merges them into the area's catalogue, keeping
the translations already there; ``check`` lists texts without a translation. Areas with other
sources (the shared layout, say) are named in ``extra_sources``. Command line::

    python -m mai_webkit.catalogues update --package src/portal --area petitions [--language ro]
    python -m mai_webkit.catalogues check --package src/portal
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po

__all__ = ["area_sources", "catalogue_commands", "extract_area", "missing_translations", "update_area"]

KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.do", "trimmed": "true"}
TRANSLATED_LANGUAGES = ("ro",)


def area_sources(package: Path, area: str, extra_sources: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Files whose texts belong to ``area``."""
    extra = (extra_sources or {}).get(area)
    if extra is not None:
        files: list[Path] = []
        for pattern in extra:
            files.extend(sorted(package.glob(pattern)))
        return files
    areas = package / "areas"
    files = [areas / f"{area}.py", *sorted(areas.glob(f"{area}_*.py")), *sorted((areas / area).rglob("*.py"))]
    files += sorted((package / "templates" / area).rglob("*.html"))
    return [f for f in files if f.is_file()]


def extract_area(package: Path, area: str, extra_sources: Mapping[str, Sequence[str]] | None = None) -> Catalog:
    catalogue = Catalog(project=package.name, fuzzy=False)
    for path in area_sources(package, area, extra_sources):
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        options = {} if path.suffix == ".py" else JINJA_OPTIONS
        relative = path.relative_to(package).as_posix()
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=dict(options)
        ):
            catalogue.add(message, None, [(relative, lineno)], auto_comments=comments, context=context)
    return catalogue


def catalogue_path(package: Path, area: str, language: str) -> Path:
    return package / "translations" / area / language / "LC_MESSAGES" / "messages.po"


def update_area(
    package: Path,
    area: str,
    *,
    language: str = "ro",
    extra_sources: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Merge the area's current texts into its catalogue (created if missing); returns its path."""
    template = extract_area(package, area, extra_sources)
    path = catalogue_path(package, area, language)
    if path.exists():
        with path.open("rb") as existing_file:
            catalogue = read_po(existing_file, locale=language)
        catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
    else:
        catalogue = Catalog(
            locale=language,
            project=package.name,
            header_comment=f"# {area}: the {language} texts of these pages (python -m mai_webkit.catalogues).",
            last_translator="MAI e-services",
            language_team=language,
            fuzzy=False,
        )
        for message in template:
            if message.id:
                catalogue[message.id] = message
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalogue, width=100, ignore_obsolete=True, omit_header=False, sort_output=False)
    return path


def missing_translations(package: Path, *, language: str = "ro") -> dict[str, list[str]]:
    """Per area, the texts its catalogue lacks or leaves untranslated (or fuzzy)."""
    missing: dict[str, list[str]] = {}
    translations = package / "translations"
    for area_dir in sorted(p for p in translations.iterdir() if p.is_dir()):
        path = catalogue_path(package, area_dir.name, language)
        if not path.exists():
            missing[area_dir.name] = ["(no catalogue)"]
            continue
        with path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=language)
        gaps = []
        for message in catalogue:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                gaps.append(str(message.id))
        if gaps:
            missing[area_dir.name] = gaps
    return missing


def catalogue_commands(package: Path, extra_sources: Mapping[str, Sequence[str]] | None = None) -> Any:
    """The ``catalogue`` command group (``update [AREA...]``, ``check``) of a front end's command line."""
    import click

    translations = package / "translations"

    @click.group(
        "catalogue", help="The page areas' message catalogues (translations/<area>/<lang>/LC_MESSAGES/messages.po)."
    )
    def catalogue() -> None:
        pass

    @catalogue.command(help="Collect the areas' texts into their catalogues (all areas unless named).")
    @click.argument("areas", nargs=-1)
    @click.option("--language", default="ro", show_default=True)
    def update(areas: tuple[str, ...], language: str) -> None:
        names = areas or tuple(sorted(p.name for p in translations.iterdir() if p.is_dir()))
        for area in names:
            click.echo(update_area(package, area, language=language, extra_sources=extra_sources))

    @catalogue.command(help="List texts without a translation; exits 1 if there is one.")
    @click.option("--language", default="ro", show_default=True)
    def check(language: str) -> None:
        missing = missing_translations(package, language=language)
        for area, texts in missing.items():
            for text in texts:
                click.echo(f"{area}: {text}")
        raise SystemExit(1 if missing else 0)

    return catalogue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mai_webkit.catalogues", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("update", "check"))
    parser.add_argument("--package", type=Path, required=True, help="the app's package directory (src/portal)")
    parser.add_argument("--area", action="append", default=[], help="area to update (repeatable; default: all)")
    parser.add_argument("--language", default="ro")
    parser.add_argument("--extra", action="append", default=[], help="AREA=GLOB: more sources of an area")
    args = parser.parse_args(argv)
    extra: dict[str, list[str]] = {}
    for item in args.extra:
        name, _, pattern = item.partition("=")
        extra.setdefault(name, []).append(pattern)
    if args.command == "update":
        areas = args.area or sorted(p.name for p in (args.package / "translations").iterdir() if p.is_dir())
        for area in areas:
            print(update_area(args.package, area, language=args.language, extra_sources=extra or None))
        return 0
    missing = missing_translations(args.package, language=args.language)
    for area, texts in missing.items():
        for text in texts:
            print(f"{area}: {text}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
