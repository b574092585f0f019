"""The Ingress agrees with the gateway: its body limit comes from the route table, and the
gateway's operator paths (probes, metrics) cannot be reached through it.

Paths are matched as ingress-nginx matches them across every Ingress of a host: an Exact path
first, then the longest Prefix (on whole path segments).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from manifests import OVERLAYS, REPO_ROOT, of_kind

#: The gateway's own paths that only the kubelet and Prometheus may use (on the pod's port).
OPERATOR_PATHS = ("/metrics", "/readyz", "/healthz")
LOOPBACK_ONLY = {"127.0.0.1/32"}
MIB = 1024 * 1024


def _route_table(objects: list[dict[str, Any]]) -> Any:
    """The rendered route table, read by the gateway's own loader (defaults applied)."""
    from gateway.routes import load_route_table

    (routes,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith("gateway-routes")]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "routes.yaml"
        path.write_text(routes["data"]["routes.yaml"], encoding="utf-8")
        return load_route_table(path)


def _gateway_paths(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Ingress, path entry) of every Ingress path whose backend is the gateway's Service."""
    return [
        (ingress, path)
        for ingress in of_kind(objects, "Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["backend"]["service"]["name"] == "gateway"
    ]


def _prefix_matches(prefix: str, request_path: str) -> bool:
    prefix = prefix.rstrip("/")
    return prefix == "" or request_path == prefix or request_path.startswith(prefix + "/")


def winning_ingress(objects: list[dict[str, Any]], request_path: str) -> dict[str, Any] | None:
    candidates = _gateway_paths(objects)
    exact = [ingress for ingress, path in candidates if path["pathType"] == "Exact" and path["path"] == request_path]
    if exact:
        return exact[0]
    prefixes = [
        (len(path["path"].rstrip("/")), ingress)
        for ingress, path in candidates
        if path["pathType"] == "Prefix" and _prefix_matches(path["path"], request_path)
    ]
    return max(prefixes, key=lambda found: found[0])[1] if prefixes else None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_body_limit_is_the_largest_route_limit(rendered, overlay: str) -> None:
    objects = rendered[overlay]
    largest = max(route.max_body_bytes for route in _route_table(objects))
    expected = f"{math.ceil(largest / MIB)}m"
    public = winning_ingress(objects, "/")
    assert public is not None
    size = public["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/proxy-body-size")
    assert size == expected, (
        f"Ingress {public['metadata']['name']}: proxy-body-size {size}, but the route table accepts bodies "
        f"up to {largest} bytes: set it to {expected}"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_operator_paths_are_not_reachable_through_the_ingress(rendered, overlay: str) -> None:
    objects = rendered[overlay]
    for request_path in OPERATOR_PATHS:
        ingress = winning_ingress(objects, request_path)
        if ingress is None:
            continue  # not routed at all: ingress-nginx answers 404
        allowed = ingress["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/whitelist-source-range")
        assert allowed and set(allowed.replace(" ", "").split(",")) <= LOOPBACK_ONLY, (
            f"{request_path} reaches the gateway through Ingress {ingress['metadata']['name']}"
        )
    # The public pages and API still go to the gateway, without a source restriction.
    for request_path in ("/", "/api/v1/petitions", "/docs", "/metricsfoo", "/healthz/x"):
        ingress = winning_ingress(objects, request_path)
        assert ingress is not None and ingress["metadata"]["name"] == "gateway", request_path


def test_the_matcher_follows_ingress_nginx() -> None:
    def ingress(name: str, *paths: tuple[str, str]) -> dict[str, Any]:
        entries = [{"path": p, "pathType": t, "backend": {"service": {"name": "gateway"}}} for p, t in paths]
        return {"kind": "Ingress", "metadata": {"name": name}, "spec": {"rules": [{"http": {"paths": entries}}]}}

    objects = [
        ingress("public", ("/", "Prefix")),
        ingress("ops", ("/metrics", "Exact")),
        ingress("api", ("/api", "Prefix")),
    ]
    assert winning_ingress(objects, "/metrics")["metadata"]["name"] == "ops"
    assert winning_ingress(objects, "/metrics/x")["metadata"]["name"] == "public"
    assert winning_ingress(objects, "/api/v1")["metadata"]["name"] == "api"
    assert winning_ingress(objects, "/apix")["metadata"]["name"] == "public"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_page_path_goes_to_the_portal_as_it_does_locally(rendered, overlay: str) -> None:
    """The root route is the portal's, with the local route table's limits (gateway/routes.local.yaml)."""
    from gateway.routes import load_route_table

    (local,) = [r for r in load_route_table(REPO_ROOT / "gateway" / "routes.local.yaml") if r.prefix == "/"]
    (root,) = [r for r in _route_table(rendered[overlay]) if r.prefix == "/"]
    assert root.upstream == "http://portal-svc" and root.service == "portal-svc"
    for limit in ("timeout_seconds", "max_body_bytes", "rate_limit", "methods", "connect_timeout_seconds"):
        assert getattr(root, limit) == getattr(local, limit), limit
    assert winning_ingress(rendered[overlay], "/petitions/new")["metadata"]["name"] == "gateway"
