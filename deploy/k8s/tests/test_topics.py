"""The KafkaTopic resources are generated from contracts/ and cannot drift from it."""

from __future__ import annotations

import importlib.util

import yaml
from manifests import K8S_DIR, REPO_ROOT, of_kind


def _generator():
    spec = importlib.util.spec_from_file_location("generate_topics", K8S_DIR / "generate_topics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_topics_equal_a_fresh_generation():
    generator = _generator()
    fresh = generator.render(generator.load_declared_topics())
    committed = (K8S_DIR / "base" / "kafka" / "topics.yaml").read_text(encoding="utf-8")
    assert committed == fresh, "base/kafka/topics.yaml is stale: run python deploy/k8s/generate_topics.py"


def test_every_declared_topic_and_its_dead_letter_topic_is_created_as_declared(rendered):
    document = yaml.safe_load((REPO_ROOT / "contracts" / "mai_contracts" / "topics.yaml").read_text(encoding="utf-8"))
    created = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered["prod"], "KafkaTopic")}
    for topic in document["topics"]:
        spec = created[topic["name"]]
        assert spec["partitions"] == topic["partitions"]
        assert spec["replicas"] == topic["replication_factor"]
        assert spec["config"]["retention.ms"] == topic["retention_ms"]
        assert spec["config"]["min.insync.replicas"] == topic["min_insync_replicas"]
        dead_letter = created.get(topic["name"] + ".dlq")
        assert dead_letter is not None, topic["name"]  # every topic has a consumer: the redaction stream
        if dead_letter:
            # Same partitions, so a replay keeps each key's order; kept at least twice as long.
            assert dead_letter["partitions"] == topic["partitions"]
            assert dead_letter["config"]["retention.ms"] >= 2 * topic["retention_ms"]
    copies = {name: spec for name, spec in created.items() if name.startswith("analytics.")}
    assert set(copies) == {"analytics." + t["name"] for t in document["topics"]}
    for topic in document["topics"]:
        # Same partitions and key as the original; kept 400 days, past the petitions' legal cycle.
        assert copies["analytics." + topic["name"]]["partitions"] == topic["partitions"]
        assert copies["analytics." + topic["name"]]["config"]["retention.ms"] >= 400 * 24 * 3600 * 1000
    assert len(created) == 3 * len(document["topics"])


def test_dev_topics_fit_a_single_broker(rendered):
    brokers = of_kind(rendered["dev"], "KafkaNodePool")[0]["spec"]["replicas"]
    for topic in of_kind(rendered["dev"], "KafkaTopic"):
        assert topic["spec"]["replicas"] <= brokers
        assert topic["spec"]["config"]["min.insync.replicas"] <= topic["spec"]["replicas"]


def test_prod_runs_three_kafka_nodes_in_kraft_mode(rendered):
    pools = of_kind(rendered["prod"], "KafkaNodePool")
    assert sum(p["spec"]["replicas"] for p in pools) == 3
    assert all({"controller", "broker"} <= set(p["spec"]["roles"]) for p in pools)
    kafka = of_kind(rendered["prod"], "Kafka")[0]
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False


def test_the_workers_kafka_triggers_are_written_from_the_consumers_in_the_contracts():
    generator = _generator()
    topics = generator.load_declared_topics()
    files = generator.trigger_files()
    # Every worker that consumes a topic scales on the lag of each (test_policies checks the rendered result).
    assert {path.parent.name for path in files} == {"analytics", "audit-svc", "booking-svc", "notify-svc", "record-svc"}
    for path in files:
        committed = path.read_text(encoding="utf-8")
        assert committed == generator.render_triggers(committed, topics), (
            f"{path} is stale: run python deploy/k8s/generate_topics.py"
        )
