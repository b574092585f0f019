"""The institutions directory (competencies, fields, contacts), the FAQ and the prevention advice.

Read from petition-svc's public API and shared by every visitor for a minute. The search over
institutions (:func:`find_institutions`) works on the server, so it needs no JavaScript; the
petition form uses it too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from mai_webkit.api import public_json

__all__ = ["blueprint", "directory_document", "fields_of_activity", "find_institutions", "institutions"]

blueprint = Blueprint("directory", __name__)

MAX_QUERY_LENGTH = 100


def directory_document() -> Any:
    """The directory's answer as cached: the same object while it is (what shared fragments are drawn from)."""
    return public_json("/api/v1/institutions")


def institutions() -> list[dict[str, Any]]:
    return list(directory_document()["items"])


def fields_of_activity() -> list[dict[str, Any]]:
    """Every field of activity an institution names, in the directory's order, once each."""
    seen: dict[str, dict[str, Any]] = {}
    for institution in institutions():
        for field in institution["fields"]:
            seen.setdefault(field["code"], field)
    return list(seen.values())


def _folded(text: str) -> str:
    """Lower case without diacritics: "Poliției" and "politiei" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif value is not None:
        yield str(value)


def find_institutions(
    candidates: Iterable[dict[str, Any]], *, query: str = "", field: str = ""
) -> list[dict[str, Any]]:
    """The institutions whose name, competencies or fields (in either language) hold every word of
    ``query``, and that deal with ``field`` when one is given; all of them when both are empty."""
    words = _folded(query[:MAX_QUERY_LENGTH]).split()
    if not words and not field:
        return list(candidates)  # nothing asked: every one, without folding their texts
    found = []
    for institution in candidates:
        if field and field not in {f["code"] for f in institution["fields"]}:
            continue
        haystack = _folded(
            " ".join(
                _texts([institution["code"], institution["name"], institution["competencies"], institution["fields"]])
            )
        )
        if all(word in haystack for word in words):
            found.append(institution)
    return found


def search_arguments() -> tuple[str, str]:
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    field = request.args.get("field", "").strip()
    known = {f["code"] for f in fields_of_activity()}
    return query, field if field in known else ""


@blueprint.get("/institutions", endpoint="institutions")
def institution_list() -> ResponseReturnValue:
    query, field = search_arguments()
    everything = institutions()
    found = find_institutions(everything, query=query, field=field)
    return render_template(
        "directory/institutions.html",
        institutions=found,
        total=len(everything),
        query=query,
        field=field,
        fields=fields_of_activity(),
        searched=bool(query or field),
    )


@blueprint.get("/institutions/<code>", endpoint="institution")
def institution_page(code: str) -> ResponseReturnValue:
    chosen = next((i for i in institutions() if i["code"] == code.upper()), None)
    if chosen is None:
        abort(404)
    codes = {f["code"] for f in chosen["fields"]}
    faq = [entry for entry in public_json("/api/v1/faq")["items"] if entry["field"] in codes]
    advice = [entry for entry in public_json("/api/v1/recommendations")["items"] if entry["field"] in codes]
    return render_template("directory/institution.html", institution=chosen, faq=faq, advice=advice)


def _grouped(entries: list[dict[str, Any]], wanted: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``[(field, entries of that field), ...]`` in the directory's order of fields."""
    groups = []
    for field in fields_of_activity():
        if wanted and field["code"] != wanted:
            continue
        members = [entry for entry in entries if entry["field"] == field["code"]]
        if members:
            groups.append((field, members))
    return groups


@blueprint.get("/faq", endpoint="faq")
def faq_page() -> ResponseReturnValue:
    _query, field = search_arguments()
    entries = public_json("/api/v1/faq")["items"]
    return render_template(
        "directory/faq.html",
        groups=_grouped(entries, field),
        field=field,
        fields=[f for f in fields_of_activity() if any(e["field"] == f["code"] for e in entries)],
    )


@blueprint.get("/recommendations", endpoint="recommendations")
def recommendations_page() -> ResponseReturnValue:
    _query, field = search_arguments()
    entries = public_json("/api/v1/recommendations")["items"]
    return render_template(
        "directory/recommendations.html",
        groups=_grouped(entries, field),
        field=field,
        fields=[f for f in fields_of_activity() if any(e["field"] == f["code"] for e in entries)],
    )
