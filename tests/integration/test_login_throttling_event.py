"""Failed logins on a real PostgreSQL reach the account's owner as an account.login_throttled event
on the real topic, matching its contract, with neither the guessed password nor the client's address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import mai_contracts
import pytest
import requests
from identity import create_app
from identity.service import MIGRATIONS
from identity.tables import Account
from identity_testing import CITIZEN, add_signing_key, make_settings
from mai_chassis import OutboxRelay
from mai_chassis.outbox import pending_count
from mai_chassis.testing import read_events, wait_until
from sqlalchemy import update
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration


@pytest.fixture
def identity(database_factory, kafka_bootstrap_servers, topic_prefix) -> Iterator[dict[str, Any]]:
    from mai_chassis.migrations import upgrade

    url = database_factory("identity")
    upgrade(url, MIGRATIONS)
    settings = make_settings(url, kafka_bootstrap_servers=kafka_bootstrap_servers, kafka_topic_prefix=topic_prefix)
    add_signing_key(settings)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": f"http://127.0.0.1:{server.server_port}", "settings": settings, "app": app}
    finally:
        server.shutdown()
        app.extensions["mai_database"].dispose()


def _relay_until_drained(identity: dict[str, Any]) -> None:
    settings, database = identity["settings"], identity["app"].extensions["mai_database"]
    relay = OutboxRelay(
        database,
        service="identity-svc",
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic_prefix=settings.kafka_topic_prefix,
    )
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_until(lambda: pending_count(database) == 0, timeout=30, what="outbox drained")
    finally:
        stop.set()
        worker.join(timeout=10)


def test_the_owner_hears_of_failed_logins_once_through_the_real_topic(
    identity: dict[str, Any], kafka_bootstrap_servers: str, topic_prefix: str
) -> None:
    base = identity["base"]
    assert requests.post(f"{base}/api/v1/accounts", json=CITIZEN, timeout=10).status_code == 202
    with identity["app"].extensions["mai_database"].session() as session:  # confirmation is tested elsewhere
        session.execute(update(Account).values(email_confirmed_at=datetime.now(UTC)))
        session.commit()
    guess = "Tr0ub4dor&3 guessed"
    answers = [
        requests.post(
            f"{base}/api/v1/auth/login", json={"email": CITIZEN["email"], "password": guess}, timeout=10
        ).status_code
        for _ in range(7)
    ]
    assert answers == [401] * 5 + [429] * 2
    _relay_until_drained(identity)

    [notice] = read_events(
        kafka_bootstrap_servers, topic_prefix + "account.login_throttled", until=lambda events: len(events) >= 1
    )
    mai_contracts.validate(notice.type, notice.data)
    assert notice.type == "ro.mai.account.login_throttled.v1" and notice.source == "identity-svc"
    assert notice.data["failed_attempts"] == 5 and notice.data["recipient"]["email"] == CITIZEN["email"]
    assert guess not in repr(notice.data) and "127.0.0.1" not in repr(notice.data)
