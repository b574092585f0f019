"""Police counter units: the page a certificate referral links to (``/units/<code>``) and the list
of counters where an identity is verified in person (from identity-svc's public directory)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from mai_webkit.api import ApiProblem, api
from mai_webkit.i18n import current_language

__all__ = ["DAY_NAMES", "DOCUMENT_NAMES", "blueprint", "counter_units", "unit_name"]

blueprint = Blueprint("units", __name__, url_prefix="/units")

UNIT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: The directory changes rarely; one copy per process for a few minutes spares the API.
CACHE_SECONDS = 300
_cache_lock = threading.Lock()

DAY_NAMES = {
    "monday": lazy_gettext("Monday"),
    "tuesday": lazy_gettext("Tuesday"),
    "wednesday": lazy_gettext("Wednesday"),
    "thursday": lazy_gettext("Thursday"),
    "friday": lazy_gettext("Friday"),
    "saturday": lazy_gettext("Saturday"),
    "sunday": lazy_gettext("Sunday"),
}
DOCUMENT_NAMES = {
    "identity_card": lazy_gettext("your identity card"),
    "provisional_identity_card": lazy_gettext("your provisional identity card"),
    "passport": lazy_gettext("your passport"),
}


def _cached(key: str, load: Any) -> Any:
    """``load()``, kept per app for :data:`CACHE_SECONDS`."""
    cache: dict[str, tuple[float, Any]] = current_app.extensions.setdefault("portal_units_cache", {})
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    value = load()
    with _cache_lock:
        cache[key] = (now, value)
    return value


def counter_units() -> tuple[list[dict[str, Any]], list[str]]:
    """Every unit (address, hours) and the identity documents a counter checks."""
    body = _cached("all", lambda: api().get("/api/v1/identity/counter-units").json())
    return list(body["items"]), list(body["accepted_documents"])


def unit_name(unit: dict[str, Any]) -> str:
    return str(unit["name_en"] if current_language() == "en" else unit["name_ro"])


@blueprint.app_context_processor
def _unit_helpers() -> dict[str, Any]:
    return {"unit_name": unit_name, "day_names": DAY_NAMES, "document_names": DOCUMENT_NAMES}


@blueprint.get("", endpoint="list")
def units_page() -> ResponseReturnValue:
    units, documents = counter_units()
    return render_template("units/list.html", units=units, documents=documents)


@blueprint.get("/<code>", endpoint="unit")
def unit_page(code: str) -> ResponseReturnValue:
    if not UNIT_CODE.match(code):
        abort(404)
    try:
        unit = api().get(f"/api/v1/identity/counter-units/{code}").json()
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        # A unit the directory does not know yet: every counter, so the reader still finds one.
        units, documents = counter_units()
        return render_template("units/list.html", units=units, documents=documents, unknown_code=code), 404
    return render_template("units/unit.html", unit=unit, documents=unit.get("accepted_documents", []))
