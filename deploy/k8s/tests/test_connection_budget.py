"""Every database's connections fit its max_connections when everything runs at its maximum.

Computed from the rendered manifests and the chassis' pool sizes: web pods reach their database
through the PgBouncer Pooler (transaction mode), so what reaches PostgreSQL from them is the
poolers' server pools; the web side must fit the poolers' client limit. Workers (they LISTEN, a
session feature), migrations and scheduled jobs connect to the primary directly, each with its
whole SQLAlchemy pool. RUNBOOK.md "Connection budget" explains the numbers.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

import pytest
from manifests import OVERLAYS, REPO_ROOT, of_kind, pod_spec

#: Connections CloudNativePG and an operator need besides the services: superuser_reserved_connections
#: (3), the instance manager and its metrics exporter, a psql session during an incident.
RESERVED = 20
_URL_HOST = re.compile(r"@([a-z0-9-]+):5432/")


def _chassis_pools() -> tuple[int, int]:
    """(connections of one web or job process's Database, of one worker process) per the chassis."""
    from mai_chassis.db import Database

    parameters = inspect.signature(Database.__init__).parameters
    default = int(parameters["pool_size"].default) + int(parameters["max_overflow"].default)
    source = (REPO_ROOT / "libs" / "chassis" / "src" / "mai_chassis" / "service.py").read_text()
    worker = re.search(r"def worker\(\).*?Database\(settings\.database_url, pool_size=(\d+), max_overflow=(\d+)\)",
                       source, re.S)  # fmt: skip
    assert worker, "the worker command's Database() pool is no longer where this test reads it"
    return default, int(worker.group(1)) + int(worker.group(2))


@dataclass
class Budget:
    cluster: str
    max_connections: int
    pooler_server: int  # connections the poolers open to PostgreSQL at most
    pooler_clients: int  # client connections the poolers accept
    web_clients: int  # connections the web pods may open to the poolers
    direct: dict[str, int]  # workload -> connections straight to PostgreSQL

    @property
    def total(self) -> int:
        return self.pooler_server + sum(self.direct.values()) + RESERVED


def _env(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


def _config_value(objects: list[dict[str, Any]], container: dict[str, Any], key: str) -> str | None:
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        for config_map in of_kind(objects, "ConfigMap"):
            if config_map["metadata"]["name"] == name and key in (config_map.get("data") or {}):
                return str(config_map["data"][key])
    return None


def _max_pods(objects: list[dict[str, Any]], workload: dict[str, Any]) -> int:
    name = workload["metadata"]["name"]
    if workload["kind"] in ("Job", "CronJob"):
        return 1  # migrations run once; every CronJob here forbids concurrent runs
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            return int(hpa["spec"]["maxReplicas"])
    for scaled in of_kind(objects, "ScaledObject"):
        if scaled["spec"]["scaleTargetRef"]["name"] == name:
            return int(scaled["spec"]["maxReplicaCount"])
    return int(workload["spec"].get("replicas", 1))


def budgets(objects: list[dict[str, Any]]) -> dict[str, Budget]:
    default_pool, worker_pool = _chassis_pools()
    poolers = {p["metadata"]["name"]: p for p in of_kind(objects, "Pooler")}
    result: dict[str, Budget] = {}
    for cluster in of_kind(objects, "Cluster"):
        name = cluster["metadata"]["name"]
        mine = [p for p in poolers.values() if p["spec"]["cluster"]["name"] == name]
        parameters = [(p["spec"].get("instances", 1), p["spec"]["pgbouncer"].get("parameters", {})) for p in mine]
        result[name] = Budget(
            cluster=name,
            max_connections=int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]),
            pooler_server=sum(
                n * (int(p.get("default_pool_size", 20)) + int(p.get("reserve_pool_size", 0))) for n, p in parameters
            ),
            pooler_clients=sum(n * int(p.get("max_client_conn", 100)) for n, p in parameters),
            web_clients=0,
            direct={},
        )
    for workload in objects:
        spec = pod_spec(workload)
        if spec is None:
            continue
        for container in spec["containers"]:
            url = _env(container, "DATABASE_URL")
            host = _URL_HOST.search(url or "")
            if host is None:
                continue
            pods = _max_pods(objects, workload)
            if host.group(1) in poolers:
                processes = int(_config_value(objects, container, "WEB_CONCURRENCY") or 1)
                result[poolers[host.group(1)]["spec"]["cluster"]["name"]].web_clients += pods * processes * default_pool
            else:
                cluster_name = host.group(1).removesuffix("-rw")
                per_pod = worker_pool if container.get("args") == ["worker"] else default_pool
                result[cluster_name].direct[f"{workload['kind']} {workload['metadata']['name']}"] = pods * per_pod
    return result


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_database_holds_its_clients_at_their_maximum(rendered, overlay: str) -> None:
    found = budgets(rendered[overlay])
    assert len(found) >= 6
    for budget in found.values():
        assert budget.web_clients > 0 and budget.pooler_server > 0, budget
        assert budget.total <= budget.max_connections, budget
        assert budget.web_clients <= budget.pooler_clients, budget


def test_web_pods_go_through_the_pooler_and_workers_connect_directly(rendered) -> None:
    """Transaction pooling breaks LISTEN (mai_chassis.wakeup), so only the web pods are pooled."""
    for workload in of_kind(rendered["prod"], "Deployment"):
        for container in pod_spec(workload)["containers"]:  # type: ignore[index]
            host = _URL_HOST.search(_env(container, "DATABASE_URL") or "")
            if host is None:
                continue
            expected = "pooler-rw" if container["name"] == "web" else "db-rw"
            assert host.group(1).endswith(expected), (workload["metadata"]["name"], host.group(1))
    for pooler in of_kind(rendered["prod"], "Pooler"):
        assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
        assert pooler["spec"]["type"] == "rw"


def test_the_budget_counts_what_it_should(rendered) -> None:
    """Twice the web pods' maximum would not fit the poolers' client limit: the check has teeth."""
    objects = [dict(o) for o in rendered["prod"]]
    budget = budgets(objects)["petition-svc-db"]
    assert budget.web_clients == 20 * 2 * _chassis_pools()[0]  # prod HPA maximum, WEB_CONCURRENCY, pool
    # The worker scales on its consumer lag (KEDA): counted at its ScaledObject's maximum.
    (scaled,) = [o for o in of_kind(objects, "ScaledObject") if o["metadata"]["name"] == "petition-svc-worker"]
    assert budget.direct["Deployment petition-svc-worker"] == scaled["spec"]["maxReplicaCount"] * _chassis_pools()[1]
    assert budget.web_clients * 2 > budget.pooler_clients
