"""contracts/asyncapi.yaml: generated from the declaration, current, and valid for the official AsyncAPI parser."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
import yaml
from mai_contracts.asyncapi import asyncapi_document, render_asyncapi

CONTRACTS = Path(__file__).resolve().parents[1]
COMMITTED = CONTRACTS / "asyncapi.yaml"
VALIDATOR = Path(__file__).with_name("asyncapi_validator")
INSTALL_TIMEOUT_S = 600

logger = logging.getLogger(__name__)


def test_the_committed_asyncapi_document_is_what_the_generator_produces_now() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_asyncapi(), (
        "contracts/asyncapi.yaml is stale: run `python -m mai_contracts.asyncapi > contracts/asyncapi.yaml`"
    )


def test_every_server_requires_scram_authentication_and_production_tls() -> None:
    document = asyncapi_document()
    schemes = document["components"]["securitySchemes"]

    for name, server in document["servers"].items():
        (reference,) = server["security"]
        assert schemes[reference["$ref"].rsplit("/", 1)[1]]["type"] == "scramSha512", name
    assert document["servers"]["production"]["protocol"] == "kafka-secure"


def test_every_topic_is_a_channel_with_its_kafka_sizing_key_and_classification() -> None:
    document = asyncapi_document()
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    assert set(channels) == {t.name for t in mai_contracts.load_topics()}
    for topic in mai_contracts.load_topics():
        channel = channels[topic.name]
        kafka = channel["bindings"]["kafka"]
        assert (kafka["partitions"], kafka["replicas"]) == (topic.partitions, topic.replication_factor)
        assert kafka["topicConfiguration"]["retention.ms"] == topic.retention_ms
        assert channel["x-key"] == topic.key
        assert channel["x-classification"] == topic.classification
        assert channel["x-owner"] == topic.owner


def test_each_message_is_a_cloudevent_whose_data_refers_to_the_contract_schema_file() -> None:
    document = asyncapi_document()
    channel = next(c for c in document["channels"].values() if c["address"] == "petition.submitted")
    message_ref = next(iter(channel["messages"].values()))["$ref"]
    message = document["components"]["messages"][message_ref.rsplit("/", 1)[-1]]
    envelope, specific = message["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/CloudEventsEnvelope"}
    assert specific["properties"]["type"] == {"const": "ro.mai.petition.submitted.v1"}
    data_ref = specific["properties"]["data"]["$ref"]
    assert (CONTRACTS / data_ref).resolve() == (CONTRACTS / "mai_contracts/events/petition.submitted.v1.schema.json")
    assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
    assert message["x-pii-fields"] == ["data.recipient.email", "data.recipient.name"]
    # The example is a whole envelope whose data honours the contract.
    example = message["examples"][0]["payload"]
    mai_contracts.validate(example["type"], example["data"])


def test_a_channel_without_personal_data_lists_no_pii_fields() -> None:
    messages = asyncapi_document()["components"]["messages"]
    assert messages["certificateRequestedV1"]["x-pii-fields"] == []
    assert messages["certificateRequestedV1"]["x-classification"] == "internal"


def _install_parser() -> Path:
    """Install @asyncapi/parser into the cache when missing (timed); fail loudly if it cannot be."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"The AsyncAPI validator needs node (>= 18) and npm; not found: {', '.join(missing)}")
    started = time.monotonic()
    installed = subprocess.run(
        ["bash", str(VALIDATOR / "install.sh")], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    if installed.returncode != 0:
        pytest.fail(
            "Could not install the AsyncAPI parser from npm (contracts/tests/asyncapi_validator/install.sh, "
            f"exit {installed.returncode}):\n{installed.stderr[-3000:]}"
        )
    logger.info("AsyncAPI parser ready in %.1fs (%s)", time.monotonic() - started, installed.stderr.strip() or "cached")
    return Path(installed.stdout.strip().splitlines()[-1])


def _validate(document: Path, parser_dir: Path) -> dict[str, Any]:
    ran = subprocess.run(
        ["node", str(VALIDATOR / "validate.cjs"), str(parser_dir), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ran.returncode not in (0, 1):
        pytest.fail(f"The AsyncAPI validator crashed (exit {ran.returncode}):\n{ran.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(ran.stdout)
    return report


@pytest.fixture(scope="module")
def asyncapi_parser() -> Path:
    return _install_parser()


def test_the_official_asyncapi_parser_accepts_the_document_with_every_reference_resolved(
    asyncapi_parser: Path,
) -> None:
    report = _validate(COMMITTED, asyncapi_parser)
    errors = [d for d in report["diagnostics"] if d["severity"] in ("error", "warning")]
    assert report["valid"] and not errors, json.dumps(report["diagnostics"], indent=2)
    topics = mai_contracts.load_topics()
    assert report["summary"]["asyncapi"] == "3.0.0"
    assert report["summary"]["channels"] == len(topics)
    assert report["summary"]["messages"] == len(topics)


def test_the_parser_rejects_a_document_whose_schema_references_are_broken(
    asyncapi_parser: Path, tmp_path: Path
) -> None:
    # The same document away from events/: proves the validator really follows the $refs.
    moved = tmp_path / "asyncapi.yaml"
    moved.write_text(COMMITTED.read_text(encoding="utf-8"), encoding="utf-8")
    report = _validate(moved, asyncapi_parser)
    assert not report["valid"]
    assert any(d["code"] == "invalid-ref" and "events/" in d["message"] for d in report["diagnostics"])


def test_the_parser_rejects_an_operation_with_an_unknown_action(asyncapi_parser: Path) -> None:
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    operation = next(iter(document["operations"]))
    document["operations"][operation]["action"] = "listen"
    broken = CONTRACTS / f".asyncapi-broken-{time.monotonic_ns()}.yaml"  # beside events/, so refs resolve
    broken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    try:
        report = _validate(broken, asyncapi_parser)
    finally:
        broken.unlink()
    assert not report["valid"]
    assert any(d["path"] == f"operations/{operation}/action" for d in report["diagnostics"])
