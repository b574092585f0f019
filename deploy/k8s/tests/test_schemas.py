"""Every rendered object is valid: built-in kinds against Kubernetes' schemas, custom resources
against their operator's CRD schema. Both overlays, no cluster needed."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from manifests import KUBERNETES_VERSION, OVERLAYS


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['apiVersion']} {obj['kind']} {obj['metadata'].get('name')}"


def _group_version(obj: dict[str, Any]) -> tuple[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, version


def _closed(schema: Any) -> Any:
    """A copy of a CRD schema that rejects unknown fields, as the API server's strict field
    validation does (a CRD schema leaves them open only to prune them silently)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {k: _closed(v) for k, v in schema.items()}
    if (
        "properties" in closed
        and "additionalProperties" not in closed
        and not closed.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_platform(rendered, overlay):
    kinds = {o["kind"] for o in rendered[overlay]}
    expected = {
        "Deployment", "Service", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
        "ConfigMap", "Ingress", "Kafka", "KafkaNodePool", "KafkaTopic", "Cluster", "ScaledObject", "ServiceMonitor",
    }  # fmt: skip
    assert expected <= kinds, f"{overlay} lacks {sorted(expected - kinds)}"
    names = [(o["kind"], o["metadata"]["name"]) for o in rendered[overlay]]
    assert len(names) == len(set(names)), "an object is rendered twice"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_in_objects_match_the_kubernetes_schema(rendered, crd_schemas, overlay):
    custom_groups = {group for group, _, _ in crd_schemas}
    errors = []
    checked = 0
    for obj in rendered[overlay]:
        if _group_version(obj)[0] in custom_groups:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            checked += 1
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            errors.append(f"{_name(obj)}: {getattr(error, 'message', error)}")
    assert not errors, "\n".join(errors)
    assert checked > 50


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_crd_schema(rendered, crd_schemas, overlay):
    custom_groups = {group for group, _, _ in crd_schemas}
    closed_schemas: dict[tuple[str, str, str], Any] = {}
    errors = []
    checked = 0
    for obj in rendered[overlay]:
        group, version = _group_version(obj)
        if group not in custom_groups:
            continue
        key = (group, version, obj["kind"])
        if key not in crd_schemas:
            errors.append(f"{_name(obj)}: no CRD serves {key}")
            continue
        if key not in closed_schemas:
            schema = copy.deepcopy(crd_schemas[key])
            closed = _closed(schema)
            closed["properties"]["metadata"] = {"type": "object"}  # the API server checks metadata
            closed_schemas[key] = closed
        validator = jsonschema.Draft7Validator(closed_schemas[key])
        for error in validator.iter_errors(obj):
            path = "/".join(str(p) for p in error.absolute_path)
            errors.append(f"{_name(obj)} at /{path}: {error.message}")
        checked += 1
    assert not errors, "\n".join(errors)
    assert checked > 30


def test_crd_check_rejects_a_misspelt_field(crd_schemas):
    """The CRD check is strict: a typo in a custom resource is an error, not silently pruned."""
    schema = _closed(copy.deepcopy(crd_schemas[("keda.sh", "v1alpha1", "ScaledObject")]))
    schema["properties"]["metadata"] = {"type": "object"}
    scaled_object = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "maxReplicas": 3, "triggers": [{"type": "kafka", "metadata": {}}]},
    }
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(scaled_object)]
    assert any("maxReplicas" in m for m in messages), messages
