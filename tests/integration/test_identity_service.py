"""identity-svc against real PostgreSQL and Kafka: its tokens pass the chassis verifier through its
real JWKS endpoint, and its events reach the topics matching their contracts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import mai_contracts
import pytest
import requests
from identity import create_app
from identity.service import MIGRATIONS
from identity_testing import CALLBACK, CITIZEN, VALID_CNP, add_signing_key, make_settings, provider_settings
from mai_chassis import InvalidToken, OutboxRelay, TokenVerifier
from mai_chassis.migrations import upgrade
from mai_chassis.sealing import Sealer
from mai_chassis.testing import read_events
from mai_devtools.eid_provider import LocalEidProvider
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def eid_provider() -> Iterator[LocalEidProvider]:
    with LocalEidProvider() as provider:
        yield provider


@pytest.fixture
def identity_server(database_factory, kafka_bootstrap_servers, topic_prefix, eid_provider) -> Iterator[dict[str, Any]]:
    url = database_factory("identity")
    upgrade(url, MIGRATIONS)
    settings = make_settings(
        url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        eid_providers=(provider_settings(eid_provider.issuer),),
    )
    add_signing_key(settings)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield {"base": base, "settings": settings, "app": app}
    finally:
        server.shutdown()
        app.extensions["mai_database"].dispose()


def _relay_once(server: dict[str, Any]) -> None:
    settings = server["settings"]
    relay = OutboxRelay(
        server["app"].extensions["mai_database"],
        service="identity-svc",
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic_prefix=settings.kafka_topic_prefix,
    )
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    worker.start()
    from mai_chassis.outbox import pending_count
    from mai_chassis.testing import wait_until

    wait_until(lambda: pending_count(server["app"].extensions["mai_database"]) == 0, timeout=30, what="outbox drained")
    stop.set()
    worker.join(timeout=10)


def test_the_chassis_verifier_accepts_real_tokens_through_the_real_jwks_endpoint(
    identity_server, topic_prefix, kafka_bootstrap_servers
):
    base, settings = identity_server["base"], identity_server["settings"]
    assert requests.post(f"{base}/api/v1/accounts", json=CITIZEN, timeout=10).status_code == 202
    _relay_once(identity_server)

    [mailed] = read_events(
        kafka_bootstrap_servers,
        topic_prefix + "account.email_confirmation_requested",
        until=lambda events: len(events) >= 1,
    )
    mai_contracts.validate(mailed.type, mailed.data)
    code = Sealer(list(settings.sealing_keys)).open(mailed.data["sealed_confirmation"])
    confirmed = requests.post(
        f"{base}/api/v1/accounts/email-confirmation",
        json={"citizen_id": mailed.data["citizen_id"], "code": code},
        timeout=10,
    )
    assert confirmed.status_code == 204
    tokens = requests.post(
        f"{base}/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]}, timeout=10
    ).json()

    verifier = TokenVerifier(jwks_url=f"{base}/.well-known/jwks.json", issuer="mai-identity", audience="mai-eservices")
    principal = verifier.verify(tokens["access_token"])
    assert (principal.subject, principal.kind, principal.assurance) == (mailed.data["citizen_id"], "citizen", "none")
    with pytest.raises(InvalidToken):
        TokenVerifier(
            jwks_url=f"{base}/.well-known/jwks.json", issuer="mai-identity", audience="another-service"
        ).verify(tokens["access_token"])

    civil = requests.get(
        f"{base}/internal/v1/civil-status", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    ).json()
    assert civil["cnp"] == VALID_CNP

    [registered] = read_events(
        kafka_bootstrap_servers, topic_prefix + "account.registered", until=lambda events: len(events) >= 1
    )
    mai_contracts.validate(registered.type, registered.data)
    assert registered.subject == mailed.data["citizen_id"]


def test_identity_verification_through_the_openid_provider_publishes_identity_verified(
    identity_server, topic_prefix, kafka_bootstrap_servers, eid_provider
):
    base, app = identity_server["base"], identity_server["app"]
    requests.post(f"{base}/api/v1/accounts", json=CITIZEN, timeout=10)
    from identity.tables import Account
    from sqlalchemy import update

    database = app.extensions["mai_database"]
    with database.session() as session:  # the confirmation step is covered above
        session.execute(update(Account).values(email_confirmed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ")))
        session.commit()
    tokens = requests.post(
        f"{base}/api/v1/auth/login", json={"email": CITIZEN["email"], "password": CITIZEN["password"]}, timeout=10
    ).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    started = requests.post(
        f"{base}/api/v1/identity/verifications", json={"provider": "bank-card"}, headers=auth, timeout=10
    ).json()
    eid_provider.enrol("ana.popescu.pg", cnp=VALID_CNP, family_name="Popescu", given_name="Ana")
    back = eid_provider.identify(started["authorization_url"], "ana.popescu.pg")
    assert back["redirect_uri"] == CALLBACK and back["state"] == started["state"]
    callback = {"state": back["state"], "code": back["code"]}
    done = requests.post(f"{base}/api/v1/identity/verifications/callback", json=callback, headers=auth, timeout=10)
    assert done.status_code == 200, done.text
    replay = requests.post(f"{base}/api/v1/identity/verifications/callback", json=callback, headers=auth, timeout=10)
    assert replay.status_code == 409
    _relay_once(identity_server)
    [verified] = read_events(
        kafka_bootstrap_servers, topic_prefix + "identity.verified", until=lambda events: len(events) >= 1
    )
    mai_contracts.validate(verified.type, verified.data)
    assert verified.data["assurance_level"] == "substantial" and VALID_CNP not in repr(verified.data)
    fresh = requests.post(
        f"{base}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10
    ).json()
    verifier = TokenVerifier(jwks_url=f"{base}/.well-known/jwks.json", issuer="mai-identity", audience="mai-eservices")
    assert verifier.verify(fresh["access_token"]).is_verified
