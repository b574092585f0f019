"""A citizen's own data, as each service answers ``GET /internal/v1/export`` (the right of access).

identity-svc assembles one download from every service's answer, calling each with the citizen's
own token: no service reads another's database. A service lists its rows of the caller with
:func:`row_data` (every column, JSON-ready, minus the ones named: keyed digests, internal state)
and answers with :func:`export_response` (never cached); :data:`EXPORT_PATH` is where every service
serves it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, jsonify
from sqlalchemy import inspect

__all__ = ["EXPORT_PATH", "export_document", "export_response", "row_data", "rows_data"]

#: The path of every service's export of the caller's data (not routed by the gateway).
EXPORT_PATH = "/internal/v1/export"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def row_data(row: Any, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """Every mapped column of ``row`` (an ORM object) by name, as JSON values, minus ``exclude``."""
    mapper = inspect(row).mapper
    return {column.key: _plain(getattr(row, column.key)) for column in mapper.column_attrs if column.key not in exclude}


def rows_data(rows: Iterable[Any], *, exclude: Collection[str] = ()) -> list[dict[str, Any]]:
    return [row_data(row, exclude=exclude) for row in rows]


def export_document(service: str, subject: str, sections: Mapping[str, Any]) -> dict[str, Any]:
    """One service's answer: who holds it, whose data it is, and the data by kind."""
    return {"service": service, "subject": subject, "data": dict(sections)}


def export_response(document: Mapping[str, Any]) -> Response:
    """The export as JSON that no cache keeps."""
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response
