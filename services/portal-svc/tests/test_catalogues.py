"""Every text of every page area has its Romanian translation, and the catalogues are current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from mai_webkit.catalogues import extract_area, missing_translations
from portal.service import CATALOGUE_SOURCES

PACKAGE = Path(__file__).parents[1] / "src" / "portal"
AREAS = sorted(p.name for p in (PACKAGE / "translations").iterdir() if p.is_dir())


def _catalogue(area: str):  # type: ignore[no-untyped-def]
    with (PACKAGE / "translations" / area / "ro" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale="ro")


def test_every_area_has_a_romanian_catalogue_with_every_text_translated() -> None:
    assert {"auth", "home", "site"} <= set(AREAS)
    assert missing_translations(PACKAGE) == {}


def test_every_text_on_the_pages_is_in_its_areas_catalogue() -> None:
    """`portal-svc catalogue update <area>` was run after the area's texts last changed."""
    stale = {}
    for area in AREAS:
        in_catalogue = {m.id for m in _catalogue(area) if m.id}
        on_pages = {m.id for m in extract_area(PACKAGE, area, CATALOGUE_SOURCES) if m.id}
        if on_pages - in_catalogue:
            stale[area] = sorted(map(str, on_pages - in_catalogue))
    assert stale == {}


def test_a_text_used_in_several_areas_has_one_translation() -> None:
    """The catalogues are merged into one, so two translations of one text would fight."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for area in AREAS:
        for message in _catalogue(area):
            if not message.id or isinstance(message.id, tuple):
                continue
            earlier = seen.setdefault(message.id, (area, message.string))
            if earlier[1] != message.string:
                clashes.append(f"{message.id!r}: {earlier[0]} {earlier[1]!r} / {area} {message.string!r}")
    assert clashes == []
