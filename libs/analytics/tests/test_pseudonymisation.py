"""The analysts' copy of every event type: no x-pii value, no sealed field, stable keyed pseudonyms."""

from __future__ import annotations

import json
from typing import Any

import mai_contracts
import pytest
from mai_analytics.redaction import redacted_event
from mai_chassis.events import build_event, decode_event, encode_event

KEY = b"k" * 32
EVENT_TYPES = [t.event_type for t in mai_contracts.load_topics(include_dlq=False)]
WITH_PII = [t for t in EVENT_TYPES if mai_contracts.pii_paths(t)]


def values_at(node: Any, path: tuple[str, ...]) -> list[Any]:
    """Every value at path ("*" for each array item); none when the field is absent."""
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if head == "*":
        return [v for item in node for v in values_at(item, rest)] if isinstance(node, list) else []
    return values_at(node[head], rest) if isinstance(node, dict) and head in node else []


def leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in leaves(value)]
    return [node]


def example(event_type: str) -> dict[str, Any]:
    examples = mai_contracts.schema(event_type)["examples"]
    return dict(examples[0])


def test_every_event_type_with_personal_data_has_an_example_exercising_it() -> None:
    assert len(WITH_PII) >= 10
    for event_type in WITH_PII:
        found = [v for path in mai_contracts.pii_paths(event_type) for v in values_at(example(event_type), path)]
        assert found, f"{event_type}'s example carries none of its x-pii fields"


@pytest.mark.parametrize("event_type", WITH_PII)
def test_the_copy_holds_no_personal_value_anywhere(event_type: str) -> None:
    original = example(event_type)
    copy = mai_contracts.pseudonymise(event_type, original, KEY)

    personal = [
        v for path in mai_contracts.pii_paths(event_type) for v in leaves(values_at(original, path)) if v is not None
    ]
    remaining = set(map(json.dumps, leaves(copy)))
    assert personal
    for value in personal:
        assert json.dumps(value) not in remaining, (event_type, value)
    for path in mai_contracts.pii_paths(event_type):  # (sealed ones are gone: see below)
        for value in values_at(copy, path):
            assert str(value).startswith("pn1:"), (event_type, path, value)


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if mai_contracts.sealed_paths(t)])
def test_sealed_fields_are_removed_not_pseudonymised(event_type: str) -> None:
    original = example(event_type)
    copy = mai_contracts.pseudonymise(event_type, original, KEY)
    for path in mai_contracts.sealed_paths(event_type):
        assert values_at(original, path), "the example carries the sealed field"
        assert values_at(copy, path) == []


def test_pseudonyms_are_stable_per_person_and_depend_on_the_key() -> None:
    event_type = "ro.mai.petition.submitted.v1"
    first = mai_contracts.pseudonymise(event_type, example(event_type), KEY)
    again = dict(example(event_type), petition_id="another")
    again["recipient"] = dict(again["recipient"], email=" Ana.Popescu@Example.RO")
    second = mai_contracts.pseudonymise(event_type, again, KEY)
    other_person = dict(example(event_type))
    other_person["recipient"] = dict(other_person["recipient"], email="ion.ionescu@example.ro")
    third = mai_contracts.pseudonymise(event_type, other_person, KEY)
    other_key = mai_contracts.pseudonymise(event_type, example(event_type), b"z" * 32)

    assert first["recipient"]["email"] == second["recipient"]["email"]
    assert first["recipient"]["email"] != third["recipient"]["email"]
    assert first["recipient"]["email"] != other_key["recipient"]["email"]
    assert first["institution"] == "IGPR"  # what is not personal stays as it was


def test_a_key_is_required() -> None:
    with pytest.raises(ValueError, match="key"):
        mai_contracts.pseudonymise("ro.mai.petition.submitted.v1", example("ro.mai.petition.submitted.v1"), b"")


def test_the_copied_envelope_keeps_the_event_id_type_source_and_schema() -> None:
    event_type = "ro.mai.certificate.issued.v1"
    original = build_event(event_type, source="record-svc", subject="c-1", data=example(event_type))
    copied = decode_event(encode_event(redacted_event(decode_event(encode_event(original)), KEY)))

    assert (copied.id, copied.type, copied.source, copied.subject) == (
        original.get_id(),
        event_type,
        "record-svc",
        "c-1",
    )
    assert copied.dataschema == mai_contracts.schema_uri(event_type)
    assert "ana.popescu@example.ro" not in json.dumps(copied.data)
