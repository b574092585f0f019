"""Every text of every page area has its Romanian translation, and the catalogues are current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from console.service import CATALOGUE_SOURCES
from flask.testing import FlaskClient
from mai_webkit.catalogues import extract_area, missing_translations

from .conftest import PREFIX

PACKAGE = Path(__file__).parents[1] / "src" / "console"
AREAS = sorted(p.name for p in (PACKAGE / "translations").iterdir() if p.is_dir())


def test_every_area_has_a_romanian_catalogue_with_every_text_translated() -> None:
    assert {"auth", "documents", "home", "notifications", "petitions", "site", "status_line"} <= set(AREAS)
    assert missing_translations(PACKAGE) == {}


def test_every_text_on_the_pages_is_in_its_areas_catalogue() -> None:
    """`console-svc catalogue update <area>` was run after the area's texts last changed."""
    stale = {}
    for area in AREAS:
        with (PACKAGE / "translations" / area / "ro" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
            in_catalogue = {m.id for m in read_po(po_file, locale="ro") if m.id}
        on_pages = {m.id for m in extract_area(PACKAGE, area, CATALOGUE_SOURCES) if m.id}
        if on_pages - in_catalogue:
            stale[area] = sorted(map(str, on_pages - in_catalogue))
    assert stale == {}


def test_romanian_by_default_and_english_one_click_away(client: FlaskClient) -> None:
    romanian = client.get(f"{PREFIX}/sign-in").get_data(as_text=True)
    assert '<html lang="ro">' in romanian and "Intrare în cont" in romanian
    switch = client.get(f"/staff/language/en?next={PREFIX}/sign-in")
    assert switch.status_code == 303 and switch.headers["Location"] == f"{PREFIX}/sign-in"

    english = client.get(f"{PREFIX}/sign-in").get_data(as_text=True)

    assert '<html lang="en">' in english and "Staff sign-in" in english
    assert f'href="{PREFIX}/language/ro?next={PREFIX}/sign-in"' in english.replace("%2F", "/")
