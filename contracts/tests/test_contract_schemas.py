"""Tests of the event schemas themselves: well-formed, closed, keyed, and free of secrets and CNPs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
from jsonschema import Draft202012Validator
from mai_contracts import Topic

SCHEMA_DIR = resources.files("mai_contracts").joinpath("events")
MAIN_TOPICS = mai_contracts.load_topics(include_dlq=False)
ID_BASE = "https://contracts.e-services.mai.gov.ro/events/"
# Fields that must never travel in an event. Reference-data codes are named by what they identify
# (institution, office, purpose), so any property name with "code" in it is refused as well.
FORBIDDEN_NAME = re.compile(r"cnp|national_?id|personal_?numeric|password|passwd|token|secret|code", re.I)


def _load(declared: Topic) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_DIR.joinpath(declared.schema_file).read_text("utf-8"))
    return loaded


def _objects(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every sub-schema that declares properties, wherever it sits."""
    if isinstance(node, dict):
        if "properties" in node:
            yield path, node
        for key, value in node.items():
            if key not in ("examples", "enum", "const"):
                yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}/{index}")


def _marked_pii(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("x-pii") is True or any(_marked_pii(v) for v in node.values())
    if isinstance(node, list):
        return any(_marked_pii(v) for v in node)
    return False


def test_the_design_path_contracts_events_holds_the_same_schemas() -> None:
    design_dir = Path(__file__).resolve().parent.parent / "events"
    if not design_dir.is_dir():
        pytest.skip("running from an installed wheel, without the source tree")
    assert sorted(p.name for p in design_dir.glob("*.schema.json")) == sorted({t.schema_file for t in MAIN_TOPICS})


def test_no_schema_file_is_left_without_a_topic() -> None:
    files = {p.name for p in SCHEMA_DIR.iterdir() if p.name.endswith(".schema.json")}
    assert files == {t.schema_file for t in MAIN_TOPICS}


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_schema_is_a_valid_2020_12_schema_with_a_matching_id(declared: Topic) -> None:
    document = _load(declared)
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{ID_BASE}{declared.schema_file}"
    assert mai_contracts.schema_uri(declared.event_type) == document["$id"]
    assert document["title"] and document["description"]
    assert document["type"] == "object"


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_every_object_in_the_schema_forbids_additional_properties(declared: Topic) -> None:
    document = _load(declared)
    assert document["additionalProperties"] is False
    assert document["required"]
    for path, node in _objects(document):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_no_property_carries_a_cnp_password_token_secret_or_code(declared: Topic) -> None:
    for path, node in _objects(_load(declared)):
        for name in node["properties"]:
            assert not FORBIDDEN_NAME.search(name), f"{declared.schema_file} {path}: {name}"


def test_the_name_scan_would_catch_a_forbidden_field() -> None:
    sneaky = {"type": "object", "properties": {"holder": {"type": "object", "properties": {"CNP": {}}}}}
    names = [n for _, node in _objects(sneaky) for n in node["properties"]]
    assert any(FORBIDDEN_NAME.search(n) for n in names)
    assert all(FORBIDDEN_NAME.search(n) for n in ("reset_code", "access_token", "password_hash"))


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_classification_is_personal_exactly_when_the_schema_marks_pii(declared: Topic) -> None:
    has_pii = _marked_pii(_load(declared))
    assert (declared.classification == "personal") == has_pii
    assert bool(mai_contracts.pii_paths(declared.event_type)) == has_pii


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_the_kafka_key_is_a_required_uuid_of_the_payload(declared: Topic) -> None:
    document = _load(declared)
    assert declared.key in document["required"]
    assert document["properties"][declared.key] == {**document["properties"][declared.key], "format": "uuid"}


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_events_a_citizen_is_mailed_about_carry_a_recipient(declared: Topic) -> None:
    properties = _load(declared)["properties"]
    if "notify-svc" not in declared.consumers:
        assert "recipient" not in properties
        return
    recipient = properties["recipient"]
    assert set(recipient["required"]) == {"email", "name", "language"}
    assert recipient["properties"]["email"]["x-pii"] is True
    assert recipient["properties"]["name"]["x-pii"] is True
    assert recipient["properties"]["language"]["enum"] == ["ro", "en"]


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_timestamps_are_date_times_and_ids_are_uuids(declared: Topic) -> None:
    for path, node in _objects(_load(declared)):
        for name, prop in node["properties"].items():
            if name.endswith("_at") or name == "valid_until":
                assert prop.get("format") == "date-time", f"{path}/{name}"
            if name.endswith("_id"):
                assert prop.get("format") == "uuid", f"{path}/{name}"


def _sealed_fields(node: Any, path: str = "$") -> Iterator[tuple[str, str, dict[str, Any]]]:
    for where, obj in _objects(node, path):
        for name, prop in obj["properties"].items():
            if isinstance(prop, dict) and "x-sealed" in prop:
                yield where, name, prop


@pytest.mark.parametrize("declared", MAIN_TOPICS, ids=lambda t: t.name)
def test_sealed_fields_are_strings_for_notify_svc_to_open(declared: Topic) -> None:
    for path, name, prop in _sealed_fields(_load(declared)):
        assert prop["x-sealed"] is True, f"{path}/{name}"
        assert prop["type"] == "string", f"{path}/{name}"
        assert "notify-svc" in declared.consumers, declared.name


def test_the_sealed_field_scan_finds_a_sealed_field() -> None:
    document = {"type": "object", "properties": {"sealed_confirmation": {"type": "string", "x-sealed": True}}}
    assert [name for _, name, _ in _sealed_fields(document)] == ["sealed_confirmation"]
