"""audit-svc's OpenAPI document: its one route, and every reference in it leads to a component."""

from __future__ import annotations

from typing import Any

import pytest
from audit.openapi import openapi_document

pytestmark = pytest.mark.unit


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {node["$ref"]} if "$ref" in node else set().union(*(_refs(v) for v in node.values()), set())
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node), set())
    return set()


def test_the_document_describes_the_trail_route_and_every_reference_resolves() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    operation = document["paths"]["/api/v1/audit/actions"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"actor", "unit", "action", "from", "to", "before", "limit"}
    assert set(operation["responses"]) == {"200", "400", "401", "403", "422"}
    for ref in _refs(document):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref
