"""``Idempotency-Key`` for creating POSTs: a retried request gets the first response back.

The key is scoped to the caller (token subject, else client address) and the route. The first
request claims the key in its own short transaction; a concurrent retry while it runs gets 409;
a retry after it finished gets the stored response (status, body, Location) replayed, with an
``Idempotent-Replayed: true`` header. Reusing a key for a different body is refused with 422.
Server errors (5xx) release the key so that the client can retry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Response, current_app, g, make_response, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .db import Database
from .problems import Problem
from .tables import IdempotencyRecord

__all__ = ["IDEMPOTENCY_HEADER", "KEY_TTL", "idempotent"]

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
_MAX_KEY_LENGTH = 200

_F = TypeVar("_F", bound=Callable[..., Any])


def _scope() -> str:
    principal = g.get("principal")
    caller = f"sub:{principal.subject}" if principal is not None else f"ip:{request.remote_addr}"
    return f"{caller}|{request.method} {request.path}"[:300]


def _request_hash() -> str:
    digest = hashlib.sha256(request.get_data(cache=True))
    digest.update((request.content_type or "").encode())
    return digest.hexdigest()


def idempotent(view: _F) -> _F:
    """Decorate a creating POST view; without the header it runs as usual."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(400, f"{IDEMPOTENCY_HEADER} must be 1 to {_MAX_KEY_LENGTH} printable characters.")
        database: Database = current_app.extensions["mai_database"]
        scope, fingerprint = _scope(), _request_hash()
        with database.session() as session:
            existing = session.get(IdempotencyRecord, (scope, key))
            if existing is not None and existing.created_at is not None:
                created = existing.created_at if existing.created_at.tzinfo else existing.created_at.replace(tzinfo=UTC)
                if datetime.now(UTC) - created > KEY_TTL:
                    session.delete(existing)
                    session.commit()
                    existing = None
            if existing is None:
                session.add(IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    existing = session.get(IdempotencyRecord, (scope, key))
            if existing is not None:
                return _replay(existing, fingerprint)

        try:
            response = make_response(view(*args, **kwargs))
        except Problem as problem:
            if problem.status >= 500:
                _release(database, scope, key)
            else:
                _store_problem(database, scope, key, problem)
            raise
        except Exception:
            _release(database, scope, key)
            raise
        if response.status_code >= 500:
            _release(database, scope, key)
            return response
        with database.session() as session:
            record = session.get(IdempotencyRecord, (scope, key))
            if record is not None:
                record.status_code = response.status_code
                record.response_body = response.get_data(as_text=True)
                record.response_headers = json.dumps(
                    {k: v for k, v in response.headers.items() if k in ("Content-Type", "Location")}
                )
                session.commit()
        return response

    return wrapper  # type: ignore[return-value]


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise Problem(
            422,
            f"This {IDEMPOTENCY_HEADER} was already used for a different request.",
            kind="idempotency-key-reused",
        )
    if record.status_code is None:
        raise Problem(
            409,
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            kind="idempotency-key-in-use",
            headers={"Retry-After": "1"},
        )
    response = Response(record.response_body or "", status=record.status_code)
    for name, value in json.loads(record.response_headers or "{}").items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _store_problem(database: Database, scope: str, key: str, problem: Problem) -> None:
    from .problems import PROBLEM_JSON

    with database.session() as session:
        record = session.get(IdempotencyRecord, (scope, key))
        if record is not None:
            record.status_code = problem.status
            record.response_body = json.dumps(problem.to_dict())
            record.response_headers = json.dumps({"Content-Type": PROBLEM_JSON})
            session.commit()


def _release(database: Database, scope: str, key: str) -> None:
    with database.session() as session:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key))
        session.commit()
