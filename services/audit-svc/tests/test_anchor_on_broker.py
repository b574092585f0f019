"""The audit chain's external anchor on the real database and broker: `audit-svc anchor` writes the
signed head into the outbox, the relay publishes it on audit.checkpoint, and `audit-svc verify-audit`
reads it back — finding the newest rows removed by the superuser, and refusing a forged checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from audit.anchor import CHAIN, CHECKPOINT_TOPIC, CHECKPOINT_TYPE, register_checkpoint_gauges
from audit.handlers import append_staff_action
from audit.service import anchor, verify_audit
from click.testing import CliRunner
from mai_chassis import Database, Event, OutboxRelay, kafka_clients
from mai_chassis.events import build_event, encode_event
from mai_chassis.metrics import render_metrics
from mai_chassis.tables import OutboxEvent
from mai_chassis.testing import kafka_user_environment
from sqlalchemy import select

KEY = "test-audit-checkpoint-key-0123456789abcdef"


@pytest.fixture
def environment(
    audit_database: Database, kafka_bootstrap_servers: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """What the anchor job and the verification read: they run as audit-svc's broker user, whose ACLs
    (derived from contracts/) let it write the checkpoint topic and read it back."""
    values = {
        "DATABASE_URL": audit_database.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "ENVIRONMENT": "test",
        "LOG_JSON": "false",
        "AUDIT_CHECKPOINT_KEYS": KEY,
    }
    values.update(kafka_user_environment(kafka_bootstrap_servers, "audit-svc", prefix=topic_prefix))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@dataclass(frozen=True)
class Trail:
    """The audit store of a test, in the environment of the anchor job (fixture ``trail``)."""

    database: Database
    bootstrap_servers: str
    topic_prefix: str
    staff_action_event: Callable[..., Event]

    def append(self, count: int) -> None:
        with self.database.unit_of_work(source="audit-svc") as uow:
            for _ in range(count):
                append_staff_action(uow, self.staff_action_event())
            uow.commit()

    def anchor(self) -> str:
        """Run `audit-svc anchor`, then relay its checkpoint as the worker does; the command's output."""
        result = CliRunner().invoke(anchor, [])
        assert result.exit_code == 0, result.output
        relay = OutboxRelay(
            self.database, service="audit-svc", bootstrap_servers=self.bootstrap_servers, topic_prefix=self.topic_prefix
        )
        try:
            assert relay.publish_batch() == 1
        finally:
            relay._drop_producer(wait=10.0)
        return result.output


@pytest.fixture
def trail(
    audit_database: Database,
    environment: dict[str, str],
    kafka_bootstrap_servers: str,
    topic_prefix: str,
    staff_action_event: Callable[..., Event],
) -> Trail:
    return Trail(audit_database, kafka_bootstrap_servers, topic_prefix, staff_action_event)


def _verify(*options: str) -> tuple[int, str]:
    result = CliRunner().invoke(verify_audit, list(options))
    return result.exit_code, result.output


def test_growth_after_an_anchor_verifies_and_the_worker_exports_the_newest_checkpoint(trail: Trail) -> None:
    trail.append(3)
    output = trail.anchor()
    assert "anchored row 3" in output
    trail.append(2)

    code, output = _verify()
    assert code == 0, output
    assert "intact, 5 rows" in output
    assert "1 checkpoints hold (newest anchors row 3)" in output

    register_checkpoint_gauges(trail.database)
    exposition = render_metrics()[0].decode()
    assert 'audit_checkpoint_last_seq{service="audit-svc"} 3.0' in exposition
    [stamp] = [
        float(line.split()[-1])
        for line in exposition.splitlines()
        if line.startswith("audit_checkpoint_last_timestamp_seconds{")
    ]
    assert abs(stamp - datetime.now(UTC).timestamp()) < 600


def test_removing_the_newest_rows_after_an_anchor_fails_verification_naming_them(
    superuser: Callable[[Database, str], None], trail: Trail
) -> None:
    trail.append(3)
    trail.anchor()
    trail.append(2)
    trail.anchor()
    superuser(trail.database, "DELETE FROM audit_trail WHERE seq >= 4")

    code, output = _verify()
    assert code == 1
    # The chain alone still checks out: only the anchor shows the loss.
    assert "intact, 3 rows" in output
    assert "FAILS its checkpoint of row 5" in output and "rows 4-5 are missing" in output
    assert output.count("FAILS") == 1  # the checkpoint of row 3 still holds


def test_rows_replaced_before_the_newest_checkpoint_show_against_every_checkpoint(
    superuser: Callable[[Database, str], None], monkeypatch: pytest.MonkeyPatch, trail: Trail
) -> None:
    monkeypatch.setenv("AUDIT_CHECKPOINTS_CHECKED", "1")
    trail.append(5)
    trail.anchor()
    # Rows 4-5 are removed and two others appended in their place; the next anchor signs that head.
    superuser(trail.database, "DELETE FROM audit_trail WHERE seq >= 4")
    trail.append(2)
    trail.anchor()

    code, output = _verify()
    assert code == 0 and "1 checkpoints hold (newest anchors row 5)" in output  # the newest one agrees
    code, output = _verify("--all-checkpoints")
    assert code == 1
    assert "FAILS its checkpoint of row 5" in output and "row 5 has another hash than anchored (rewritten)" in output


def test_a_checkpoint_altered_on_the_broker_has_its_signature_refused(trail: Trail) -> None:
    trail.append(2)
    trail.anchor()
    with trail.database.session() as session:
        payload = session.scalar(select(OutboxEvent.payload).where(OutboxEvent.event_type == CHECKPOINT_TYPE))
    assert payload is not None
    # Someone holding audit-svc's broker user (not its key) re-publishes the checkpoint claiming a shorter chain.
    forged = {**json.loads(payload)["data"], "seq": 1}
    event = build_event(CHECKPOINT_TYPE, source="audit-svc", subject=str(CHAIN), data=forged)
    producer = kafka_clients.producer(trail.bootstrap_servers, acks="all")
    try:
        producer.send(trail.topic_prefix + CHECKPOINT_TOPIC, key=str(CHAIN).encode(), value=encode_event(event)).get(
            timeout=30
        )
    finally:
        producer.close(timeout=10)

    code, output = _verify()
    assert code == 1
    assert "FAILS its checkpoint of row 1" in output and "its signature is refused" in output
    # The genuine checkpoint still holds beside the forged one.
    assert "FAILS its checkpoint of row 2" not in output


def test_verification_without_the_checkpoint_keys_says_the_anchors_were_not_checked(
    monkeypatch: pytest.MonkeyPatch, trail: Trail
) -> None:
    trail.append(1)
    monkeypatch.delenv("AUDIT_CHECKPOINT_KEYS")
    code, output = _verify()
    assert code == 0 and "checkpoints NOT checked" in output
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_JWKS_URL", "http://127.0.0.1:9/jwks.json")
    code, output = _verify()
    assert code == 1 and "checkpoints NOT checked" in output
