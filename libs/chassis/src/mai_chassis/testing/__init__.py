"""Test helpers shared by every service: real broker and database access, tokens, event reading.

The pytest fixtures built on these live in :mod:`mai_chassis.testing.plugin`, which pytest loads
automatically once the chassis is installed.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import mai_contracts
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..auth import roles_claim
from ..events import Event, build_event, decode_event, encode_event

__all__ = [
    "QuietHandler",
    "TokenIssuer",
    "contract_event",
    "create_database",
    "delete_topics",
    "drop_database",
    "ensure_topics",
    "kafka_user_environment",
    "read_events",
    "send_json",
    "serve_http",
    "serve_jwks",
    "wait_until",
]

ISSUER = "mai-identity"
AUDIENCE = "mai-eservices"


def contract_event(event_type: str, *, source: str, **changes: Any) -> Event:
    """The first ``examples`` entry of ``event_type``'s contract with ``changes``, as a consumer receives
    it (encoded and decoded; its subject the contract's subject field)."""
    data = copy.deepcopy(mai_contracts.schema(event_type)["examples"][0]) | changes
    subject = str(data.get(mai_contracts.topic_for_event_type(event_type).key, ""))
    return decode_event(encode_event(build_event(event_type, source=source, subject=subject, data=data)))


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll until ``predicate()`` is truthy and return its value; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r}")
        time.sleep(interval)


class TokenIssuer:
    """Signs access tokens the way identity-svc does, with its own RSA key (tests only)."""

    def __init__(self, *, issuer: str = ISSUER, audience: str = AUDIENCE, kid: str | None = None) -> None:
        self.issuer, self.audience = issuer, audience
        self.kid = kid or f"test-{uuid.uuid4().hex[:8]}"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [jwk]}

    def issue(
        self,
        subject: str | None = None,
        *,
        kind: str = "citizen",
        roles: Iterable[tuple[str, str]] = (),
        assurance: str = "none",
        lifetime: timedelta = timedelta(minutes=10),
        **claims: Any,
    ) -> str:
        now = datetime.now(UTC)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or str(uuid.uuid4()),
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
            "kind": kind,
            "acr": assurance,
            "typ": "access",
        }
        if roles:
            payload["roles"] = roles_claim(roles)
        payload.update(claims)
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def citizen(self, subject: str | None = None, *, verified: bool = True, **claims: Any) -> str:
        return self.issue(subject, kind="citizen", assurance="substantial" if verified else "none", **claims)

    def staff(self, role: str, unit: str, subject: str | None = None, **claims: Any) -> str:
        return self.issue(subject, kind="staff", roles=[(role, unit)], **claims)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for test servers that keeps its access log off stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        return


def send_json(
    handler: BaseHTTPRequestHandler, status: int, body: Any, *, headers: Mapping[str, str] | None = None
) -> None:
    """Answer the request in hand with ``body`` as JSON (with its Content-Length) and extra ``headers``."""
    payload = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a loopback port from a background thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_jwks(jwks: Mapping[str, Any]) -> Iterator[str]:
    """Serve a JWKS document on a loopback port; yields its URL."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            send_json(self, 200, jwks)

    with serve_http(Handler) as url:
        yield f"{url}/.well-known/jwks.json"


def _admin_engine(admin_url: str) -> Any:
    url = make_url(admin_url).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def create_database(admin_url: str, prefix: str = "test") -> str:
    """Create a fresh database on the server of ``admin_url``; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}".replace("-", "_")
    engine = _admin_engine(admin_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    engine = _admin_engine(admin_url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def ensure_topics(
    bootstrap_servers: str, names: Iterable[str] | None = None, *, prefix: str = "", partitions: int | None = None
) -> None:
    """Create the contract's topics (or the given ones), prefixed, on a test broker (replication 1)."""
    import mai_contracts
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from .. import kafka_clients

    declared = {t.name: t for t in mai_contracts.load_topics(include_dlq=True)}
    wanted = list(names) if names is not None else list(declared)
    # The analysts' redacted copies are created only when asked for, as declared too.
    declared.update({t.name: t for t in mai_contracts.analytics_topics()})
    admin = kafka_clients.admin(bootstrap_servers, client_id="tests")
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                prefix + name,
                partitions or (declared[name].partitions if name in declared else 3),
                1,
                # As declared (retention), so that a test topic behaves like the real one.
                topic_configs={"retention.ms": str(declared[name].retention_ms)} if name in declared else {},
            )
            for name in wanted
            if prefix + name not in existing
        ]
        if new:
            try:
                admin.create_topics(new, timeout_ms=30000)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def kafka_user_environment(bootstrap_servers: str, user: str, *, prefix: str) -> dict[str, str]:
    """The Kafka variables a process started by a test needs to run as ``user`` on ``prefix``'s topics.

    On a broker that authenticates, the user is provisioned (its ACLs on the prefixed topics, as
    contracts/ derive them) and its own settings are returned; on one that does not, the environment's.
    """
    from ..kafka_admin import provision
    from ..kafka_clients import KafkaSecurity

    administrator = KafkaSecurity.from_env()
    if not administrator.uses_sasl:
        return administrator.environment()
    return provision(bootstrap_servers, administrator=administrator, topic_prefix=prefix, users=[user])[
        user
    ].environment()


def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix``, and the ACLs on them (best effort: a test's clean-up)."""
    from .. import kafka_admin, kafka_clients

    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    try:
        admin = kafka_clients.admin(bootstrap_servers, client_id="tests")
    except Exception:  # the broker may be down at the end of an outage test; nothing to clean then
        return
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed, timeout_ms=30000)
        if kafka_clients.KafkaSecurity.from_env().uses_sasl:
            kafka_admin.delete_acls_under(admin, prefix)
    except Exception:
        logging.getLogger(__name__).debug("test topics under %s not deleted", prefix, exc_info=True)
    finally:
        admin.close()


def read_events(
    bootstrap_servers: str,
    topic: str,
    *,
    until: Callable[[list[Any]], bool],
    timeout: float = 30.0,
    raw: bool = False,
) -> list[Any]:
    """Read ``topic`` from the beginning until ``until(records)`` holds; returns decoded events.

    With ``raw=True`` returns the kafka-python records themselves (headers, key, value).
    """
    from .. import kafka_clients

    consumer = kafka_clients.consumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=500,
    )
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    records.append(message if raw else decode_event(message.value, message.key))
            if until(records):
                return records
        raise AssertionError(f"timed out reading {topic}: got {len(records)} records")
    finally:
        consumer.close()


def events_with_subject(events: list[Event], subject: str) -> list[Event]:
    return [event for event in events if event.subject == subject]
