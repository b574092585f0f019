"""``Idempotency-Key`` for creating POSTs: a retried request gets the first response back.

The key is scoped to the caller (token subject, else client address) and the route. The first
request claims the key in its own short transaction; a concurrent retry while it runs gets 409;
a retry after it finished gets the stored response (status, body, Location) replayed, with an
``Idempotent-Replayed: true`` header. Reusing a key for a different body is refused with 422.
Server errors (5xx) release the key so that the client can retry.

What is kept to recognise "the same request" is a fingerprint: an HMAC-SHA256, under the
``REQUEST_FINGERPRINT_KEY`` setting, of the JSON body with its secret fields left out
(``SECRET_FIELDS`` — passwords, CNPs, one-time codes, tokens — plus those a route declares), so a
stored record reveals nothing about a secret, and no guess can be checked against it without the
key. Records live ``KEY_TTL``; :func:`purge_expired_records` deletes older ones in batches, run by
every worker once an hour and by the ``<service> purge-idempotency`` command, and safe to run in
several pods at once (each batch skips rows another pod holds).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast, overload

from flask import Response, current_app, g, make_response, request
from sqlalchemy import Row, Table, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import Database
from .problems import Problem
from .tables import IdempotencyRecord
from .worker import LoopProgress

__all__ = [
    "IDEMPOTENCY_HEADER",
    "KEY_TTL",
    "SECRET_FIELDS",
    "IdempotencyPurge",
    "idempotent",
    "purge_expired_records",
    "request_fingerprint",
]

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
_MAX_KEY_LENGTH = 200

_F = TypeVar("_F", bound=Callable[..., Any])


def _scope() -> str:
    principal = g.get("principal")
    caller = f"sub:{principal.subject}" if principal is not None else f"ip:{request.remote_addr}"
    return f"{caller}|{request.method} {request.path}"[:300]


#: Fields never part of a fingerprint, at any depth of the body (names compared case-insensitively).
SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "cnp",
        "code",
        "counter_code",
        "confirmation_code",
        "reset_code",
        "otp",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "secret",
    }
)


def _without(value: Any, secret: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, secret) for k, v in value.items() if str(k).lower() not in secret}
    if isinstance(value, list):
        return [_without(item, secret) for item in value]
    return value


def request_fingerprint(
    body: bytes, content_type: str, *, key: str, secret_fields: Iterable[str] = SECRET_FIELDS
) -> str:
    """HMAC-SHA256 (hex) of a request body, its secret fields left out when it is JSON.

    A JSON body is canonicalised (sorted keys), so a retry that serialises the same fields in
    another order is still the same request. Other bodies (multipart uploads) are taken whole.
    """
    secret = frozenset(name.lower() for name in secret_fields)
    material = body
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            material = json.dumps(_without(json.loads(body), secret), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            pass  # not JSON after all: the view refuses it; the bytes are fingerprinted whole
    mac = hmac.new(key.encode(), digestmod=hashlib.sha256)
    mac.update(media_type.encode())
    mac.update(b"\x00")
    mac.update(material)
    return mac.hexdigest()


def _fingerprint_key() -> str:
    settings = current_app.config.get("SERVICE_SETTINGS")
    return str(getattr(settings, "request_fingerprint_key", "") or "")


@overload
def idempotent(view: _F) -> _F: ...


@overload
def idempotent(*, secret_fields: Iterable[str] = ()) -> Callable[[_F], _F]: ...


def idempotent(view: _F | None = None, *, secret_fields: Iterable[str] = ()) -> Any:
    """Decorate a creating POST view; without the header it runs as usual.

    ``@idempotent`` leaves :data:`SECRET_FIELDS` out of the fingerprint;
    ``@idempotent(secret_fields=("iban",))`` leaves those fields out too.
    """
    secret = SECRET_FIELDS | frozenset(name.lower() for name in secret_fields)
    if view is None:
        return lambda wrapped: _idempotent(wrapped, secret)
    return _idempotent(view, secret)


def _idempotent(view: _F, secret: frozenset[str]) -> _F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(400, f"{IDEMPOTENCY_HEADER} must be 1 to {_MAX_KEY_LENGTH} printable characters.")
        database: Database = current_app.extensions["mai_database"]
        scope = _scope()
        fingerprint = request_fingerprint(
            request.get_data(cache=True), request.content_type or "", key=_fingerprint_key(), secret_fields=secret
        )
        existing = _claim(database, scope, key, fingerprint)
        if existing is not None:
            return _replay(existing, fingerprint)

        try:
            response = make_response(view(*args, **kwargs))
        except Problem as problem:
            if problem.status >= 500 or problem.status == 428:  # 428: to be sent again, e.g. with a solved challenge
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
        _store(
            database,
            scope,
            key,
            status_code=response.status_code,
            body=response.get_data(as_text=True),
            headers={k: v for k, v in response.headers.items() if k in ("Content-Type", "Location")},
        )
        return response

    return wrapper  # type: ignore[return-value]


_TABLE = cast(Table, IdempotencyRecord.__table__)


def _claim(database: Database, scope: str, key: str, fingerprint: str) -> Row[Any] | None:
    """Claim the key in one statement; None when claimed, else the record already there.

    A new key is inserted; a record older than :data:`KEY_TTL` is taken over in the same statement
    (``ON CONFLICT ... DO UPDATE ... WHERE`` expired). A retry while the first request runs waits
    for nothing: the first request's claim is committed on its own before the view runs.
    """
    now = datetime.now(UTC)
    values = {"scope": scope, "key": key, "request_hash": fingerprint, "created_at": now}
    table = _TABLE
    insert = postgresql.insert if database.is_postgresql else sqlite.insert
    statement = insert(table).values(values)
    claim = statement.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.key],
        set_={
            "request_hash": statement.excluded.request_hash,
            "created_at": statement.excluded.created_at,
            "status_code": None,
            "response_body": None,
            "response_headers": None,
        },
        where=table.c.created_at < now - KEY_TTL,
    ).returning(table.c.scope)
    with database.autocommit() as connection:
        if connection.execute(claim).first() is not None:
            return None
        return connection.execute(
            select(table.c.request_hash, table.c.status_code, table.c.response_body, table.c.response_headers).where(
                table.c.scope == scope, table.c.key == key
            )
        ).one()


def _store(database: Database, scope: str, key: str, *, status_code: int, body: str, headers: dict[str, str]) -> None:
    """The answer, kept for retries: one ``UPDATE`` of the claimed record."""
    table = _TABLE
    with database.autocommit() as connection:
        connection.execute(
            update(table)
            .where(table.c.scope == scope, table.c.key == key)
            .values(status_code=status_code, response_body=body, response_headers=json.dumps(headers))
        )


def _replay(record: Any, fingerprint: str) -> Response:
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

    body = json.dumps(problem.to_dict())
    _store(database, scope, key, status_code=problem.status, body=body, headers={"Content-Type": PROBLEM_JSON})


def _release(database: Database, scope: str, key: str) -> None:
    with database.autocommit() as connection:
        connection.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        )


def purge_expired_records(
    database: Database, *, ttl: timedelta = KEY_TTL, batch_size: int = 1000, now: datetime | None = None
) -> int:
    """Delete records older than ``ttl`` in batches of ``batch_size``; returns how many were deleted.

    Each batch is its own short transaction that locks its rows with ``SKIP LOCKED`` (PostgreSQL),
    so several pods purging at once delete disjoint rows and never wait on each other.
    """
    cutoff = (now or datetime.now(UTC)) - ttl
    identity = tuple_(IdempotencyRecord.scope, IdempotencyRecord.key)
    deleted = 0
    while True:
        doomed = (
            select(IdempotencyRecord.scope, IdempotencyRecord.key)
            .where(IdempotencyRecord.created_at < cutoff)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        with database.session() as session:
            result = session.execute(delete(IdempotencyRecord).where(identity.in_(doomed)))
            session.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < batch_size:
            return deleted


class IdempotencyPurge:
    """A worker loop: purges expired idempotency records at start, then every ``interval`` seconds."""

    def __init__(self, database: Database, *, interval: float = 3600.0, batch_size: int = 1000) -> None:
        self.database = database
        self.interval = interval
        self.batch_size = batch_size
        #: Stamped each round and through the hour between rounds (the worker's liveness).
        self.progress = LoopProgress("idempotency-purge")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.progress.stamp()
            try:
                deleted = purge_expired_records(self.database, batch_size=self.batch_size)
                if deleted:
                    logger.info("purged %d expired idempotency records", deleted)
            except Exception as exc:  # the database may be away: the next round tries again
                logger.warning("idempotency records not purged: %s", exc.__class__.__name__)
            self.progress.pause(self.interval, stop.wait)
