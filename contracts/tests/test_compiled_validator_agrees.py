"""The compiled validator that answers valid payloads never accepts one the reference refuses.

``mai_contracts.validate`` returns at once when ``jsonschema-rs`` finds a payload valid, and asks
``jsonschema`` (the reference) only otherwise. So what matters is one direction: every payload the
compiled validator accepts, the reference accepts too. Each schema's example is broken in every
way listed below, field by field and in nested objects and arrays, and both validators are asked.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import mai_contracts
import pytest
from mai_contracts._schemas import _fast_validator, _validator

EVENT_TYPES = [t.event_type for t in mai_contracts.load_topics(include_dlq=False)]

#: Values that break one rule or another: types, formats, lengths, patterns, enums, bounds.
REPLACEMENTS: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    10**12,
    "",
    " ",
    "x",
    "x" * 5000,
    "not-a-uuid",
    "3f0c1c9e-6b1d-4f0a-9a4e-1f2e3d4c5b6a\n",
    "{3f0c1c9e-6b1d-4f0a-9a4e-1f2e3d4c5b6a}",
    "3F0C1C9E6B1D4F0A9A4E1F2E3D4C5B6A",
    "2026-02-30",
    "2026-12-07T25:00:00Z",
    "2026-12-07 10:00:00",
    "2026-12-07T10:00:00",
    "2026-12-07",
    "no-at-sign.example.ro",
    "a@b",
    "IGPR-2026-000001\n",
    "igpr-2026-000001",
    "١٢٣",
    [],
    [1, 2],
    {},
    {"unexpected": 1},
)


def _broken(value: Any) -> Iterator[Any]:
    """``value`` with one thing changed, at every depth: a field replaced, removed or added."""
    if isinstance(value, dict):
        yield {**value, "unexpected_field": "x"}
        for key in value:
            without = dict(value)
            del without[key]
            yield without
            for replacement in REPLACEMENTS:
                yield {**value, key: replacement}
            for inner in _broken(value[key]):
                yield {**value, key: inner}
    elif isinstance(value, list):
        yield []
        yield [*value, *value]
        for index, item in enumerate(value):
            for replacement in REPLACEMENTS:
                yield [*value[:index], replacement, *value[index + 1 :]]
            for inner in _broken(item):
                yield [*value[:index], inner, *value[index + 1 :]]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_no_payload_the_compiled_validator_accepts_is_refused_by_the_reference(event_type: str) -> None:
    example = copy.deepcopy(mai_contracts.schema(event_type)["examples"][0])
    fast, reference = _fast_validator(event_type), _validator(event_type)
    tried = refused = 0
    for payload in _broken(example):
        tried += 1
        accepted_by_fast = fast.is_valid(payload)
        accepted_by_reference = not any(True for _ in reference.iter_errors(payload))
        assert accepted_by_reference or not accepted_by_fast, f"the compiled validator accepted case {tried}"
        refused += not accepted_by_reference
    assert tried > 50 and refused > 0  # the cases do reach the rules


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_refused_payload_is_still_reported_with_every_error(event_type: str) -> None:
    payload = {**copy.deepcopy(mai_contracts.schema(event_type)["examples"][0]), "unexpected_field": "x"}
    with pytest.raises(mai_contracts.ContractViolation) as violation:
        mai_contracts.validate(event_type, payload)
    assert any("unexpected_field" in error for error in violation.value.errors)
