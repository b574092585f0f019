"""The audit store on the real broker and database: staff actions of two services arrive through
their outboxes, the chain is verified by the command line, tampering is detected, admins read it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from audit import create_app
from audit.config import Settings
from audit.deps import build_deps
from audit.service import build_consumer, verify_audit
from click.testing import CliRunner
from flask.testing import FlaskClient
from mai_chassis import Database, OutboxRelay, UnitOfWork
from mai_chassis.auth import Principal
from mai_chassis.migrations import upgrade
from mai_chassis.staff_actions import AuditSubject, record_staff_action
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import TokenIssuer, wait_until
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

CLERK = Principal(subject=str(uuid.uuid4()), kind="staff", roles=frozenset({("petition_clerk", "IGPR")}))
COUNTER = str(uuid.uuid4())


@pytest.fixture
def settings(audit_database: Database, jwks_url: str) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        database_url=audit_database.url,
        kafka_bootstrap_servers="127.0.0.1:9",
        jwt_jwks_url=jwks_url,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
    )


def _answer(uow: UnitOfWork) -> object:
    return record_staff_action(
        uow,
        CLERK,
        action="petition.answer",
        subject=AuditSubject("petition", uuid.uuid4(), "IGPR-2026-000001"),
        role="petition_clerk",
    )


def _decide_referral(uow: UnitOfWork) -> object:
    return record_staff_action(
        uow,
        COUNTER,
        action="certificate.decide_referral",
        subject=AuditSubject("certificate", uuid.uuid4()),
        role="counter_clerk",
        unit="DGP",
    )


@pytest.fixture
def filled_trail(settings: Settings, audit_database: Database, database_factory: Callable[..., str]) -> Database:
    """A petition clerk's answer (petition-svc) and a counter clerk's decision (record-svc), each
    written to its service's outbox and taken by audit-svc's consumer as it comes off the topic."""
    return _fill(settings, audit_database, database_factory)


def _fill(settings: Settings, audit_database: Database, database_factory: Callable[..., str]) -> Database:
    consumer = build_consumer(build_deps(settings), audit_database, group_id="audit-svc")
    for service, act in (("petition-svc", _answer), ("record-svc", _decide_referral)):
        source = Database(_source_database(database_factory, service.removesuffix("-svc")))
        try:
            with source.unit_of_work(source=service) as uow:
                act(uow)
                uow.commit()
            with source.session() as session:
                [row] = session.scalars(select(OutboxEvent)).all()
        finally:
            source.dispose()
        assert consumer.process(row.topic, row.payload.encode(), row.key.encode()).name == "processed"
        # The same message again (a redelivery): recognised, not appended twice.
        assert consumer.process(row.topic, row.payload.encode(), row.key.encode()).name == "duplicate"
    assert _count(audit_database) == 2
    return audit_database


def _source_database(database_factory: Callable[..., str], name: str) -> str:
    url = database_factory(name)
    upgrade(url, None)  # the chassis' tables: the outbox
    return url


def _count(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM audit_trail")) or 0)


def _verify(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("LOG_JSON", "false")
    result = CliRunner().invoke(verify_audit, [])
    return result.exit_code, result.output


def test_staff_actions_of_two_services_travel_through_the_broker_into_the_store(
    audit_database: Database,
    settings: Settings,
    database_factory: Callable[..., str],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    for service, act in (("petition-svc", _answer), ("record-svc", _decide_referral)):
        source = Database(_source_database(database_factory, service.removesuffix("-svc")))
        try:
            with source.unit_of_work(source=service) as uow:
                act(uow)
                uow.commit()
            relay = OutboxRelay(
                source, service=service, bootstrap_servers=kafka_bootstrap_servers, topic_prefix=topic_prefix
            )
            assert relay.publish_batch() == 1
            relay._drop_producer(wait=10.0)
        finally:
            source.dispose()
    on_broker = replace(settings, kafka_bootstrap_servers=kafka_bootstrap_servers, kafka_topic_prefix=topic_prefix)
    consumer = build_consumer(build_deps(on_broker), audit_database)
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_until(lambda: _count(audit_database) == 2, timeout=60, what="both staff actions in the audit store")
    finally:
        stop.set()
        worker.join(30)
    with audit_database.engine.connect() as connection:
        services = connection.execute(text("SELECT service FROM audit_trail ORDER BY seq")).scalars().all()
    assert sorted(services) == ["petition-svc", "record-svc"]


def test_staff_actions_of_two_services_arrive_in_the_chained_store(
    filled_trail: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with filled_trail.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT seq, service, action, actor_id, unit FROM audit_trail ORDER BY seq")
        ).all()
    assert {(row.service, row.action, row.actor_id) for row in rows} == {
        ("petition-svc", "petition.answer", CLERK.subject),
        ("record-svc", "certificate.decide_referral", COUNTER),
    }
    assert [row.seq for row in rows] == [1, 2]
    code, output = _verify(settings, monkeypatch)
    assert code == 0 and "intact, 2 rows" in output


def test_appended_actions_are_counted_by_the_service_that_reported_them(
    settings: Settings, audit_database: Database, database_factory: Callable[..., str]
) -> None:
    from audit.metrics import AUDIT_RECORDS

    sources = ("petition-svc", "record-svc")
    before = [AUDIT_RECORDS.labels("audit-svc", source)._value.get() for source in sources]
    _fill(settings, audit_database, database_factory)  # each action once, and once more as a redelivery
    after = [AUDIT_RECORDS.labels("audit-svc", source)._value.get() for source in sources]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]


def test_the_database_refuses_to_change_or_remove_a_row(filled_trail: Database) -> None:
    for statement in (
        "UPDATE audit_trail SET action = 'petition.close' WHERE seq = 1",
        "DELETE FROM audit_trail WHERE seq = 1",
        "TRUNCATE audit_trail",
    ):
        with pytest.raises(DBAPIError, match="append-only"), filled_trail.engine.begin() as connection:
            connection.execute(text(statement))
    assert _count(filled_trail) == 2


def test_verification_finds_a_row_deleted_by_the_superuser(
    filled_trail: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    superuser: Callable[[Database, str], None],
) -> None:
    superuser(filled_trail, "DELETE FROM audit_trail WHERE seq = 1")
    code, output = _verify(settings, monkeypatch)
    assert code == 1
    assert "BROKEN at row 1: missing" in output


def test_verification_finds_a_row_altered_by_the_superuser(
    filled_trail: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    superuser: Callable[[Database, str], None],
) -> None:
    superuser(filled_trail, "UPDATE audit_trail SET actor_id = 'someone-else' WHERE seq = 2")
    code, output = _verify(settings, monkeypatch)
    assert code == 1
    assert "BROKEN at row 2: its content does not match its hash" in output


@pytest.fixture
def client(settings: Settings, filled_trail: Database) -> FlaskClient:
    return create_app(settings, database=filled_trail).test_client()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_administrator_reads_the_trail_filtered(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    admin = _bearer(token_issuer.staff("admin", "*"))
    everything = client.get("/api/v1/audit/actions", headers=admin)
    assert everything.status_code == 200
    assert [record["seq"] for record in everything.json["records"]] == [2, 1]

    by_actor = client.get(f"/api/v1/audit/actions?actor={CLERK.subject}", headers=admin).json["records"]
    assert [(r["service"], r["action"], r["unit"]) for r in by_actor] == [("petition-svc", "petition.answer", "IGPR")]
    assert by_actor[0]["subject"]["number"] == "IGPR-2026-000001"
    by_unit = client.get("/api/v1/audit/actions?unit=DGP&action=certificate.decide_referral", headers=admin)
    assert [r["actor_id"] for r in by_unit.json["records"]] == [COUNTER]
    paged = client.get("/api/v1/audit/actions?limit=1", headers=admin).json
    assert (len(paged["records"]), paged["next_before"]) == (1, 2)
    future = client.get("/api/v1/audit/actions?from=2999-01-01T00:00:00Z", headers=admin).json
    assert future["records"] == []

    unit_admin = client.get("/api/v1/audit/actions", headers=_bearer(token_issuer.staff("admin", "IGPR"))).json
    assert [r["unit"] for r in unit_admin["records"]] == ["IGPR"]


def test_someone_who_is_no_administrator_gets_403(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    clerk = client.get("/api/v1/audit/actions", headers=_bearer(token_issuer.staff("petition_clerk", "IGPR")))
    citizen = client.get("/api/v1/audit/actions", headers=_bearer(token_issuer.citizen()))
    assert (clerk.status_code, citizen.status_code) == (403, 403)
    assert clerk.headers["Content-Type"].startswith("application/problem+json")


def test_a_filter_that_cannot_be_read_is_a_problem(client: FlaskClient, token_issuer: TokenIssuer) -> None:
    response = client.get("/api/v1/audit/actions?order=asc", headers=_bearer(token_issuer.staff("admin", "*")))
    assert response.status_code in (400, 422)
    assert response.headers["Content-Type"].startswith("application/problem+json")
