"""Integration test: `mai-topics create` against a real Kafka broker named by KAFKA_BOOTSTRAP_SERVERS."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mai_contracts
import pytest

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
# A local broker has one node; a CI cluster may say otherwise.
REPLICATION = os.environ.get("KAFKA_REPLICATION_FACTOR", "1")


def _mai_topics(*args: str) -> subprocess.CompletedProcess[str]:
    # The installed command, which takes the broker's security settings from the environment.
    command = [str(Path(sys.executable).with_name("mai-topics")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    if not BOOTSTRAP:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: no broker to create topics on")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"\w+ is deprecated\. Use files\(\) instead", DeprecationWarning)
        from mai_chassis import kafka_clients

        client = kafka_clients.admin(BOOTSTRAP, client_id="contracts-tests")
    yield client
    client.close()


@pytest.fixture(scope="module")
def first_run(admin: Any) -> subprocess.CompletedProcess[str]:
    return _mai_topics("create", "--bootstrap-servers", BOOTSTRAP, "--replication-factor", REPLICATION)


def test_create_succeeds_and_accounts_for_every_declared_topic(first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, first_run.stderr
    reported = [line.split()[1] for line in first_run.stdout.splitlines() if line.startswith(("created ", "exists "))]
    everything = [*mai_contracts.load_topics(), *mai_contracts.analytics_topics()]
    assert sorted(reported) == sorted(t.name for t in everything)


def test_every_declared_topic_exists_with_its_partitions(
    first_run: subprocess.CompletedProcess[str], admin: Any
) -> None:
    declared = {t.name: t for t in mai_contracts.load_topics()}
    described = {d["name"]: d for d in admin.describe_topics(list(declared))}
    for name, topic in declared.items():
        assert name in described, name
        assert described[name].get("error_code", 0) == 0, name
        assert len(described[name]["partitions"]) >= topic.partitions, name


def test_topics_carry_their_retention_and_min_insync(first_run: subprocess.CompletedProcess[str], admin: Any) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    for topic in (mai_contracts.topic("petition.submitted"), mai_contracts.topic("identity.verified.dlq")):
        resource = ConfigResource(ConfigResourceType.TOPIC, topic.name)
        described = admin.describe_configs([resource], config_filter="all")
        configs = described["topic"][topic.name]
        assert configs["retention.ms"]["value"] == str(topic.retention_ms)
        expected_isr = min(topic.min_insync_replicas, int(REPLICATION))
        assert configs["min.insync.replicas"]["value"] == str(expected_isr)


def test_a_second_run_leaves_every_topic_alone(first_run: subprocess.CompletedProcess[str]) -> None:
    again = _mai_topics("create", "--bootstrap-servers", BOOTSTRAP, "--replication-factor", REPLICATION)
    assert again.returncode == 0, again.stderr
    assert "0 created" in again.stdout
    assert not any(line.startswith("created ") for line in again.stdout.splitlines())
