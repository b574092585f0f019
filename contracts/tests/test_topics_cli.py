"""Tests of `mai-topics` without a broker: the plan, creation against a fake admin client, the table."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import mai_contracts
import pytest
from mai_contracts.topics_cli import EXIT_BROKER_UNREACHABLE, create, main, plan

ALREADY_EXISTS = 36  # Kafka's TOPIC_ALREADY_EXISTS
POLICY_VIOLATION = 44


class FakeAdmin:
    """Stands in for KafkaAdminClient: remembers topics, answers with chosen error codes."""

    def __init__(self, existing: dict[str, int] | None = None, errors: dict[str, int] | None = None) -> None:
        self.topics = dict(existing or {})
        self.errors = errors or {}
        self.requests: list[dict[str, dict[str, Any]]] = []

    def list_topics(self) -> list[str]:
        return list(self.topics)

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        return [{"name": n, "partitions": [{}] * self.topics[n]} for n in topics or self.topics]

    def create_topics(
        self,
        new_topics: dict[str, dict[str, Any]],
        timeout_ms: int | None = None,
        validate_only: bool = False,
        raise_errors: bool = True,
        wait_for_metadata: bool = False,
    ) -> dict[str, Any]:
        self.requests.append(new_topics)
        answers = []
        for name, request in new_topics.items():
            code = self.errors.get(name, 0)
            if code == 0:
                self.topics[name] = request["num_partitions"]
            answers.append({"name": name, "error_code": code, "error_message": "refused" if code else None})
        return {"topics": answers}


def test_plan_carries_partitions_retention_and_min_insync_of_each_topic() -> None:
    specs = {s.name: s for s in plan(mai_contracts.load_topics())}
    submitted = specs["petition.submitted"]
    assert (submitted.partitions, submitted.replication_factor) == (6, 3)
    assert submitted.configs == {"retention.ms": "2592000000", "min.insync.replicas": "2"}
    assert specs["petition.submitted.dlq"].configs["retention.ms"] == "5184000000"
    assert len(specs) == len(mai_contracts.load_topics())


def test_min_insync_is_capped_at_a_single_brokers_replication_factor() -> None:
    for spec in plan(mai_contracts.load_topics(), replication_factor=1):
        assert spec.replication_factor == 1
        assert spec.configs["min.insync.replicas"] == "1"
    overridden = plan(mai_contracts.load_topics(), replication_factor=5, min_insync=3)
    assert {s.configs["min.insync.replicas"] for s in overridden} == {"3"}


def test_create_makes_every_missing_topic_and_leaves_existing_ones_alone() -> None:
    admin = FakeAdmin(existing={"petition.submitted": 6, "identity.verified": 2})
    specs = plan(mai_contracts.load_topics(), replication_factor=1)
    report = create(admin, specs, timeout_ms=1000)
    assert report.existing == ["petition.submitted", "identity.verified"]
    assert report.partition_drift == {"identity.verified": (2, 6)}
    assert set(report.created) == {s.name for s in specs} - set(report.existing)
    assert not report.failed
    (request,) = admin.requests
    assert "petition.submitted" not in request
    assert request["petition.closed"] == {
        "num_partitions": 3,
        "replication_factor": 1,
        "configs": {"retention.ms": "2592000000", "min.insync.replicas": "1"},
    }


def test_a_topic_created_meanwhile_counts_as_existing_and_a_refusal_as_failure() -> None:
    admin = FakeAdmin(errors={"petition.closed": ALREADY_EXISTS, "notification.sent": POLICY_VIOLATION})
    report = create(admin, plan(mai_contracts.load_topics()), timeout_ms=1000)
    assert "petition.closed" in report.existing
    assert list(report.failed) == ["notification.sent"]
    assert "PolicyViolation" in report.failed["notification.sent"]


def test_nothing_is_requested_when_every_topic_exists() -> None:
    admin = FakeAdmin(existing={t.name: t.partitions for t in mai_contracts.load_topics()})
    report = create(admin, plan(mai_contracts.load_topics()), timeout_ms=1000)
    assert admin.requests == [] and report.created == [] and report.partition_drift == {}


def test_list_prints_every_topic_as_a_table() -> None:
    out = io.StringIO()
    assert main(["list"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["TOPIC", "OWNER", "PART", "RF", "ISR", "KEY", "RETENTION", "CLASS", "CONSUMERS"]
    assert len(lines) == 1 + len(mai_contracts.load_topics()) + len(mai_contracts.analytics_topics())
    assert any(line.startswith("analytics.petition.submitted ") for line in lines)
    verified = next(line for line in lines if line.startswith("identity.verified "))
    assert verified.split() == [
        "identity.verified",
        "identity-svc",
        "6",
        "3",
        "2",
        "citizen_id",
        "30d",
        "personal",
        "notify-svc,record-svc,booking-svc",
    ]


def test_list_can_leave_out_dead_letter_topics() -> None:
    out = io.StringIO()
    main(["list", "--no-dlq"], out=out)
    assert ".dlq" not in out.getvalue()


def test_create_requires_a_broker_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["create"])
    assert caught.value.code == 2
    assert "--bootstrap-servers" in capsys.readouterr().err


def test_create_reports_an_unreachable_broker_with_a_non_zero_status() -> None:
    # A child process, as a real run is; port 9 on loopback has nothing listening.
    command = [
        sys.executable,
        "-m",
        "mai_contracts.topics_cli",
        "create",
        "--bootstrap-servers",
        "127.0.0.1:9",
        "--timeout-ms",
        "1000",
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == EXIT_BROKER_UNREACHABLE
    assert "cannot reach Kafka at 127.0.0.1:9" in finished.stderr
