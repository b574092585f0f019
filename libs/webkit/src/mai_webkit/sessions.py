"""Server-side sessions: the browser holds only an opaque random id, everything else stays here.

``flask.session`` works as usual (Flask-WTF keeps its CSRF secret there, the sign-in keeps the
tokens there), but its content is a row of the front end's own database, found by the SHA-256 of
the cookie's value — so neither the cookie nor a copy of the table alone opens a session.

- A session row is written only when the session holds something (an anonymous visitor reading
  pages costs no write) and only when it changed, or to extend its idle deadline.
- It ends after ``idle_timeout`` without a request, and in any case ``max_age`` after it began.
- :func:`renew_session_id` gives the session a new id (call it on sign-in: a session id planted
  before signing in is then worth nothing); :func:`end_session` deletes it (sign-out).

The table is declared here (:data:`metadata`) and created by the Alembic migrations in
:data:`SESSIONS_MIGRATIONS`, which a front end names as its ``ServiceDefinition(migrations=...)``
(each front end has its own database; ``<front end> migrate`` runs them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, session
from flask.sessions import SessionInterface, SessionMixin
from mai_chassis import NAMING_CONVENTION, Database
from mai_chassis.db import upsert
from sqlalchemy import DateTime, MetaData, String, Text, bindparam, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.datastructures import CallbackDict

__all__ = [
    "SESSIONS_MIGRATIONS",
    "ServerSideSession",
    "ServerSideSessionInterface",
    "WebSession",
    "end_session",
    "metadata",
    "renew_session_id",
]

logger = logging.getLogger(__name__)

#: Of the writes, about one in this many also removes the expired rows.
PURGE_EVERY = 200
#: The idle deadline is moved forward at most this often (a page view is not always a write).
TOUCH_AFTER = timedelta(minutes=1)

metadata = MetaData(naming_convention=NAMING_CONVENTION)
#: The Alembic scripts of the sessions table (revision ``0001_web_sessions`` and later).
SESSIONS_MIGRATIONS = Path(__file__).parent / "migrations"


class _Base(DeclarativeBase):
    metadata = metadata


class WebSession(_Base):
    __tablename__ = "web_sessions"

    #: SHA-256 (hex) of the cookie's value; the value itself is never stored.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    idle_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


_SESSION_BY_ID = select(
    WebSession.__table__.c.data,
    WebSession.__table__.c.created_at,
    WebSession.__table__.c.idle_expires_at,
    WebSession.__table__.c.expires_at,
).where(WebSession.__table__.c.id_hash == bindparam("id_hash"))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ServerSideSession(CallbackDict[str, Any], SessionMixin):
    """The session's values, with what the interface needs to know about its row."""

    def __init__(self, initial: dict[str, Any] | None = None, *, session_id: str | None = None) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.session_id = session_id
        self.modified = False
        self.renew = False
        self.ended = False
        self.created_at: datetime | None = None
        self.idle_expires_at: datetime | None = None
        self.expires_at: datetime | None = None


class ServerSideSessionInterface(SessionInterface):
    """Flask's session, kept in a database table."""

    def __init__(self, database: Database, *, idle_timeout: timedelta, max_age: timedelta) -> None:
        self.database = database
        self.idle_timeout = idle_timeout
        self.max_age = max_age

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        session_id = request.cookies.get(self.get_cookie_name(app), "")
        if not session_id or len(session_id) > 128:
            return ServerSideSession()
        try:
            # One statement outside a transaction: a page's session costs one round trip, not three.
            with self.database.read_session() as db:
                row = db.execute(_SESSION_BY_ID, {"id_hash": _hash(session_id)}).one_or_none()
        except SQLAlchemyError as exc:
            # Pages that need no session still work; a sign-in or a form will fail on saving.
            logger.error("sessions unavailable: %s", exc.__class__.__name__)
            return ServerSideSession()
        now = _now()
        if row is None or _aware(row.idle_expires_at) <= now or _aware(row.expires_at) <= now:
            return ServerSideSession()
        try:
            values = json.loads(row.data)
        except ValueError:
            return ServerSideSession()
        opened = ServerSideSession(values, session_id=session_id)
        opened.created_at, opened.idle_expires_at, opened.expires_at = (
            _aware(row.created_at),
            _aware(row.idle_expires_at),
            _aware(row.expires_at),
        )
        return opened

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSideSession)
        name = self.get_cookie_name(app)
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": True,
            "samesite": self.get_cookie_samesite(app) or "Lax",
        }
        if session.ended or (not session and session.session_id):
            if session.session_id:
                self._delete(session.session_id)
            if session.session_id or name in _request_cookies():
                response.delete_cookie(name, **cookie)  # type: ignore[arg-type]
            return
        if not session:
            return
        now = _now()
        if session.renew and session.session_id:
            self._delete(session.session_id)
            session.session_id = None
        fresh = session.session_id is None
        touch = session.idle_expires_at is None or session.idle_expires_at - now < self.idle_timeout - TOUCH_AFTER
        if not (fresh or session.modified or touch):
            return
        if fresh:
            session.session_id = secrets.token_urlsafe(32)
            session.created_at = now
            session.expires_at = now + self.max_age
        assert session.session_id is not None and session.created_at is not None and session.expires_at is not None
        idle_expires_at = min(now + self.idle_timeout, session.expires_at)
        with self.database.session() as db:
            # One upsert rather than the ORM's merge (a SELECT, then an INSERT or an UPDATE).
            upsert(
                db,
                WebSession,
                {
                    "id_hash": _hash(session.session_id),
                    "data": json.dumps(dict(session), separators=(",", ":")),
                    "created_at": session.created_at,
                    "idle_expires_at": idle_expires_at,
                    "expires_at": session.expires_at,
                },
                key=["id_hash"],
                update=["data", "idle_expires_at", "expires_at"],
            )
            if random.random() < 1 / PURGE_EVERY:  # noqa: S311 (not security: when to clean up)
                db.execute(delete(WebSession).where(WebSession.idle_expires_at <= now))
            db.commit()
        response.set_cookie(name, session.session_id, expires=session.expires_at, **cookie)  # type: ignore[arg-type]
        response.vary.add("Cookie")

    def _delete(self, session_id: str) -> None:
        with self.database.session() as db:
            db.execute(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))
            db.commit()

    def count(self) -> int:
        """Sessions in the table (expired or not); for tests and metrics."""
        with self.database.session() as db:
            return len(db.scalars(select(WebSession.id_hash)).all())


def _request_cookies() -> dict[str, str]:
    from flask import request

    return dict(request.cookies)


def renew_session_id() -> None:
    """Keep the session's values under a new id (on sign-in, against session fixation)."""
    if isinstance(session, ServerSideSession):
        session.renew = True
        session.modified = True


def end_session() -> None:
    """Forget the session's values and delete its row; the browser's cookie is removed."""
    session.clear()
    if isinstance(session, ServerSideSession):
        session.ended = True
