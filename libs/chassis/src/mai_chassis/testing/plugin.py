"""pytest fixtures for every service's tests: real Kafka, real PostgreSQL, tokens, JWKS.

Integration tests use the broker and server the environment names (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL`` — an admin URL of a PostgreSQL server; ``make test`` starts local ones and sets
both). Without them, and with a Docker engine, testcontainers starts them; with neither the
fixtures fail with a message saying how to run the tests — they never skip silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import TokenIssuer, create_database, delete_topics, drop_database, ensure_topics, serve_jwks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: fast, in memory: no broker, database server or Flask app")
    config.addinivalue_line("markers", "integration: needs a real Kafka broker and PostgreSQL server")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (outages, load)")


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-not-found]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap_servers() -> Iterator[str]:
    named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if named:
        ensure_topics(named)
        yield named
        return
    if _docker_available():
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]

        with KafkaContainer().with_kraft() as container:
            servers = container.get_bootstrap_server()
            ensure_topics(servers)
            yield servers
        return
    pytest.fail(
        "No Kafka broker: run the tests with `make test` (starts a local broker), or set "
        "KAFKA_BOOTSTRAP_SERVERS, or make a Docker engine available for testcontainers."
    )


@pytest.fixture
def topic_prefix(kafka_bootstrap_servers: str) -> Iterator[str]:
    """A fresh prefix with every contract topic created under it: this test's own topics.

    They are deleted afterwards, so that a long test run leaves the broker as small as it found it.
    """
    import uuid

    prefix = f"t{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    yield prefix
    delete_topics(kafka_bootstrap_servers, prefix)


@pytest.fixture
def kafka_users(kafka_bootstrap_servers: str, topic_prefix: str) -> dict[str, Any]:
    """Each service's and stream's broker user, with its ACLs on this test's topics: name -> KafkaSecurity.

    Needs a broker that authenticates (``KAFKA_SECURITY_PROTOCOL=SASL_*``, as ``make test`` starts
    one); the tests are skipped, saying so, against one that takes anybody.
    """
    from ..kafka_admin import provision
    from ..kafka_clients import KafkaSecurity

    administrator = KafkaSecurity.from_env()
    if not administrator.uses_sasl:
        pytest.skip("the broker takes unauthenticated clients: no users or ACLs to test (make test secures it)")
    return provision(kafka_bootstrap_servers, administrator=administrator, topic_prefix=topic_prefix)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    named = os.environ.get("DATABASE_URL")
    if named and named.startswith("postgres"):
        yield named
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    pytest.fail(
        "No PostgreSQL server: run the tests with `make test` (starts a local server), or set "
        "DATABASE_URL to an admin URL, or make a Docker engine available for testcontainers."
    )


@pytest.fixture(scope="session")
def database_factory(postgres_admin_url: str) -> Iterator[Callable[..., str]]:
    """Creates fresh, empty databases (``factory(prefix)``); all are dropped at the end."""
    created: list[str] = []

    def factory(prefix: str = "test") -> str:
        url = create_database(postgres_admin_url, prefix)
        created.append(url)
        return url

    yield factory
    for url in created:
        try:
            drop_database(postgres_admin_url, url)
        except Exception:  # a still-open connection elsewhere must not fail the session
            logging.getLogger(__name__).debug("test database not dropped", exc_info=True)


@pytest.fixture
def migrated_database(database_factory: Callable[..., str]) -> Iterator[Callable[..., Any]]:
    """``factory(prefix, migrations)``: a fresh database with the chassis' and the service's
    migrations applied, as a :class:`~mai_chassis.Database` (a pool of 4 + 4 unless told), disposed
    after the test."""
    from ..db import Database
    from ..migrations import upgrade

    opened: list[Database] = []

    def factory(prefix: str, migrations: Any, *, pool_size: int = 4, max_overflow: int = 4) -> Database:
        url = database_factory(prefix)
        upgrade(url, migrations)
        database = Database(url, pool_size=pool_size, max_overflow=max_overflow)
        opened.append(database)
        return database

    yield factory
    for database in opened:
        database.dispose()


@pytest.fixture(scope="session")
def token_issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture(scope="session")
def jwks_url(token_issuer: TokenIssuer) -> Iterator[str]:
    with serve_jwks(token_issuer.jwks) as url:
        yield url


@pytest.fixture
def smtp_sink() -> Iterator[Any]:
    """A real SMTP server on a free loopback port that keeps every received mail."""
    from mai_devtools.smtp_sink import SmtpSink  # type: ignore[import-not-found]

    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
