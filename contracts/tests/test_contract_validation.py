"""Tests of payload validation against the contracts and of x-pii redaction."""

from __future__ import annotations

import copy
from typing import Any

import mai_contracts
import pytest
from mai_contracts import REDACTED, ContractViolation

EVENT_TYPES = [t.event_type for t in mai_contracts.load_topics(include_dlq=False)]
SUBMITTED = "ro.mai.petition.submitted.v1"
REVIEWED = "ro.mai.application.reviewed.v1"


def example_of(event_type: str) -> dict[str, Any]:
    """Return a fresh copy of the example payload kept in event_type's schema."""
    return copy.deepcopy(mai_contracts.schema(event_type)["examples"][0])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_example_in_each_schema_is_a_valid_payload(event_type: str) -> None:
    examples = mai_contracts.schema(event_type)["examples"]
    assert len(examples) == 1
    assert mai_contracts.validate(event_type, examples[0]) is None


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_payload_missing_its_key_is_refused_naming_the_key(event_type: str) -> None:
    key = mai_contracts.topic_for_event_type(event_type).key
    data = example_of(event_type)
    del data[key]
    with pytest.raises(ContractViolation, match=f"'{key}' is a required property"):
        mai_contracts.validate(event_type, data)


def test_an_unknown_field_such_as_a_cnp_is_refused() -> None:
    data = example_of(SUBMITTED) | {"cnp": "1800101221144"}
    with pytest.raises(ContractViolation, match="'cnp' was unexpected"):
        mai_contracts.validate(SUBMITTED, data)


def test_every_error_is_listed_with_its_path_and_no_value_is_echoed() -> None:
    data = example_of(SUBMITTED)
    data["recipient"]["email"] = "ana.popescu-at-example.ro"
    data["registered_at"] = "14 March 2025"
    data["petition_id"] = "not-a-uuid"
    data["kind"] = "complaint"
    with pytest.raises(ContractViolation) as caught:
        mai_contracts.validate(SUBMITTED, data)
    violation = caught.value
    assert violation.event_type == SUBMITTED
    assert violation.errors == (
        "$.kind: is not one of ['petition', 'opinion']",
        "$.petition_id: is not a valid uuid",
        "$.recipient.email: is not a valid email",
        "$.registered_at: is not a valid date-time",
    )
    assert "4 errors" in str(violation)
    assert "ana.popescu" not in str(violation)


def test_a_violation_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"\$: is not of type 'object'"):
        mai_contracts.validate(SUBMITTED, ["not", "an", "object"])


def test_nested_array_items_are_checked_with_their_index() -> None:
    data = example_of(REVIEWED)
    data["documents"][1]["decision"] = "maybe"
    with pytest.raises(ContractViolation, match=r"\$\.documents\[1\]\.decision: is not one of"):
        mai_contracts.validate(REVIEWED, data)


def test_verification_at_a_counter_must_name_the_unit() -> None:
    event_type = "ro.mai.identity.verified.v1"
    data = example_of(event_type) | {"method": "counter"}
    data.pop("provider")
    with pytest.raises(ContractViolation, match="'unit' is a required property"):
        mai_contracts.validate(event_type, data)
    mai_contracts.validate(event_type, data | {"unit": "IPJ-CJ"})


def test_date_time_checking_is_really_switched_on() -> None:
    # jsonschema skips "date-time" silently when rfc3339-validator is missing.
    from jsonschema import Draft202012Validator

    assert {"date-time", "date", "email", "uuid"} <= set(Draft202012Validator.FORMAT_CHECKER.checkers)


def test_pii_paths_reach_into_nested_objects_and_arrays() -> None:
    assert mai_contracts.pii_paths(SUBMITTED) == [("recipient", "email"), ("recipient", "name")]
    assert set(mai_contracts.pii_paths(REVIEWED)) == {
        ("documents", "*", "feedback"),
        ("recipient", "email"),
        ("recipient", "name"),
    }
    assert mai_contracts.pii_paths("ro.mai.petition.closed.v1") == []


def test_redact_hides_personal_values_and_leaves_the_rest_and_the_original_alone() -> None:
    data = example_of(REVIEWED)
    redacted = mai_contracts.redact(REVIEWED, data)
    assert redacted["recipient"] == {"email": REDACTED, "name": REDACTED, "language": "en"}
    assert redacted["documents"][1]["feedback"] == REDACTED
    assert "feedback" not in redacted["documents"][0]
    assert redacted["application_id"] == data["application_id"]
    assert data["recipient"]["email"] == "john.smith@example.com"
    assert "@" not in repr(redacted)


def test_redact_follows_local_references(monkeypatch: pytest.MonkeyPatch) -> None:
    from mai_contracts import _schemas

    referenced = {
        "$defs": {"person": {"type": "object", "properties": {"email": {"x-pii": True}}}},
        "type": "object",
        "properties": {"holder": {"$ref": "#/$defs/person"}, "office": {"type": "string"}},
    }
    monkeypatch.setattr(_schemas, "_schema", lambda event_type: referenced)
    _schemas._pii_paths.cache_clear()
    try:
        assert _schemas.redact("ro.mai.test.referenced.v1", {"holder": {"email": "x@y.ro"}, "office": "B"}) == {
            "holder": {"email": REDACTED},
            "office": "B",
        }
    finally:
        _schemas._pii_paths.cache_clear()


def test_schema_returns_a_copy_the_caller_may_change() -> None:
    mai_contracts.schema(SUBMITTED)["properties"].clear()
    assert "petition_id" in mai_contracts.schema(SUBMITTED)["properties"]
