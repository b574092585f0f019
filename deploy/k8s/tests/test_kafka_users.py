"""The cluster's Kafka users, their ACLs and who authenticates as whom come from contracts/ and cannot drift."""

from __future__ import annotations

import importlib.util

import mai_contracts
import pytest
from manifests import K8S_DIR, OVERLAYS, of_kind, pod_spec


def _generator():
    spec = importlib.util.spec_from_file_location("generate_kafka_users", K8S_DIR / "generate_kafka_users.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_users_and_client_component_equal_a_fresh_generation():
    for path, fresh in _generator().outputs().items():
        committed = path.read_text(encoding="utf-8")
        assert committed == fresh, f"{path} is stale: run python deploy/k8s/generate_kafka_users.py"


def test_the_listener_authenticates_with_scram_over_tls_and_authorizes_simply(rendered):
    for overlay in OVERLAYS:
        (kafka,) = of_kind(rendered[overlay], "Kafka")
        spec = kafka["spec"]["kafka"]
        for listener in spec["listeners"]:
            assert listener["tls"] is True, (overlay, listener["name"])
            assert listener["authentication"]["type"] == "scram-sha-512", (overlay, listener["name"])
        assert spec["authorization"]["type"] == "simple"
        assert "userOperator" in kafka["spec"]["entityOperator"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_kafka_user_is_allowed_exactly_what_contracts_derive(rendered, overlay):
    users = {u["metadata"]["name"]: u for u in of_kind(rendered[overlay], "KafkaUser")}
    assert set(users) == {u.name for u in mai_contracts.kafka_users()}
    for derived in mai_contracts.kafka_users():
        granted = {
            (acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"], operation)
            for acl in users[derived.name]["spec"]["authorization"]["acls"]
            for operation in acl["operations"]
        }
        assert granted == {(g.resource_type, g.name, g.pattern, g.operation) for g in derived.grants}, derived.name
        assert users[derived.name]["spec"]["authentication"]["type"] == "scram-sha-512"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kafka_workload_authenticates_as_its_own_service(rendered, overlay):
    users = {u.name for u in mai_contracts.kafka_users()}
    checked = 0
    for obj in rendered[overlay]:
        spec = pod_spec(obj)
        name = obj["metadata"].get("labels", {}).get("app.kubernetes.io/name")
        if spec is None or name not in users:
            continue
        env = {e["name"]: e for e in spec["containers"][0].get("env", [])}
        assert env["KAFKA_SASL_USERNAME"]["value"] == name, obj["metadata"]["name"]
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}
        assert any(v.get("secret", {}).get("secretName") == "mai-kafka-cluster-ca-cert" for v in spec["volumes"])
        checked += 1
    assert checked >= 2 * 5 + 2  # web and worker of each service, the redactor and the archiver


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_keda_kafka_trigger_reads_lag_as_the_user_of_its_consumer_group(rendered, overlay):
    authentications = {t["metadata"]["name"]: t for t in of_kind(rendered[overlay], "TriggerAuthentication")}
    config_maps = {c["metadata"]["name"]: c for c in of_kind(rendered[overlay], "ConfigMap")}
    triggers = [t for s in of_kind(rendered[overlay], "ScaledObject") for t in s["spec"]["triggers"]]
    assert triggers
    for trigger in [t for t in triggers if t["type"] == "kafka"]:
        group = trigger["metadata"]["consumerGroup"]
        authentication = authentications[trigger["authenticationRef"]["name"]]["spec"]
        username = next(r for r in authentication["configMapTargetRef"] if r["parameter"] == "username")
        assert config_maps[username["name"]]["data"]["username"] == group
        password = next(r for r in authentication["secretTargetRef"] if r["parameter"] == "password")
        assert password["name"] == group
        assert mai_contracts.kafka_user(group).may("Read", "group", group)
