"""What the deploy/k8s checks share: paths, rendering an overlay, walking rendered objects."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

K8S_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = K8S_DIR.parents[1]
OVERLAYS = ("dev", "prod")
#: CI clones the repository with shared/ beside it, not inside it.
CRDS_DIR = (REPO_ROOT / ".." / "shared" / "crds").resolve()
#: Kubernetes version whose schemas kubernetes-validate checks the built-in objects against.
KUBERNETES_VERSION = "1.33"


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's objects, as render.sh prints them (installing kustomize when missing)."""
    result = subprocess.run(
        [str(K8S_DIR / "render.sh"), overlay], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"render.sh {overlay} failed ({result.returncode}):\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template (metadata and spec) of a workload object, or None for other kinds."""
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return None


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a workload object, or None for other kinds."""
    template = pod_template(obj)
    return None if template is None else template["spec"]
