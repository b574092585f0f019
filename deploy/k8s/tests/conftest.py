"""Fixtures for the offline checks of deploy/k8s: rendered overlays, CRD schemas, declared topics."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

# The tests import their shared helpers (manifests.py) by name; pytest runs in importlib mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from manifests import CRDS_DIR, OVERLAYS, REPO_ROOT, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: render(overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema of every CRD in ../shared/crds and tests/crds."""
    if not CRDS_DIR.is_dir():
        pytest.fail(
            f"CRDs not found at {CRDS_DIR}: the checks need shared/crds beside the repository "
            "(<repo>/../shared/crds), as CI lays it out"
        )
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in [*sorted(CRDS_DIR.glob("*.yaml")), *sorted((Path(__file__).parent / "crds").glob("*.yaml"))]:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    key = (spec["group"], version["name"], spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    if not schemas:
        pytest.fail(f"no CustomResourceDefinition found in {CRDS_DIR}")
    return schemas


@pytest.fixture(scope="session")
def declared_topics() -> Iterator[list[dict[str, Any]]]:
    """The topics of contracts/mai_contracts/topics.yaml, as written there (without dead letters)."""
    document = yaml.safe_load((REPO_ROOT / "contracts" / "mai_contracts" / "topics.yaml").read_text(encoding="utf-8"))
    yield document["topics"]
