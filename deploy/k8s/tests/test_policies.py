"""Operating rules every rendered workload follows: probes, resources, a locked-down security
context, autoscaling bounded by partitions, Services that select pods, no inline Secrets in prod,
and a network that denies by default."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from mai_devtools.service_list import service_list
from manifests import OVERLAYS, REPO_ROOT, of_kind, pod_spec, pod_template

#: The API services (web, worker, migration, database each), from deploy/services.yaml.
SERVICES = tuple(s.name for s in service_list().apis)
#: The analysts' redaction stream: a worker Deployment named after itself, consumer group included.
REDACTOR = "analytics-redactor"


def _workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if pod_spec(o) is not None]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj) or {}
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def _component(obj: dict[str, Any]) -> str:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")


def _consumed_partitions() -> dict[str, dict[str, int]]:
    """service -> {topic: partitions} of every topic it consumes, from contracts/."""
    document = yaml.safe_load((REPO_ROOT / "contracts" / "mai_contracts" / "topics.yaml").read_text(encoding="utf-8"))
    consumed: dict[str, dict[str, int]] = {}
    for topic in document["topics"]:
        for consumer in topic["consumers"]:
            consumed.setdefault(consumer, {})[topic["name"]] = topic["partitions"]
        # The redaction stream copies every declared topic to analytics.<topic>, as its own group.
        consumed.setdefault(REDACTOR, {})[topic["name"]] = topic["partitions"]
    return consumed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_container_has_probes(rendered, overlay):
    missing = []
    for obj in of_kind(rendered[overlay], "Deployment"):
        for container in pod_spec(obj)["containers"]:
            where = f"{obj['metadata']['name']}/{container['name']}"
            if "livenessProbe" not in container:
                missing.append(f"{where}: no livenessProbe")
            # Workers serve no traffic: liveness (and a startup grace) is what they need.
            if _component(obj) != "worker" and "readinessProbe" not in container:
                missing.append(f"{where}: no readinessProbe")
            if _component(obj) in ("web", "worker") and "startupProbe" not in container:
                missing.append(f"{where}: no startupProbe")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_ask_healthz_for_liveness_and_readyz_for_readiness(rendered, overlay):
    for obj in of_kind(rendered[overlay], "Deployment"):
        if _component(obj) != "web":
            continue
        container = pod_spec(obj)["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", obj["metadata"]["name"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_liveness_asks_the_workers_healthz(rendered, overlay):
    # The worker's /healthz fails when a loop ended or stopped going round (mai_chassis.worker).
    for obj in of_kind(rendered[overlay], "Deployment"):
        if _component(obj) != "worker":
            continue
        name = obj["metadata"]["name"]
        for container in pod_spec(obj)["containers"]:
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(rendered, overlay):
    missing = []
    for obj in _workloads(rendered[overlay]):
        for container in _containers(obj):
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory") if part == "requests" else ("memory",):
                    if resource not in resources.get(part, {}):
                        missing.append(f"{obj['metadata']['name']}/{container['name']}: no {part}.{resource}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_locked_down(rendered, overlay):
    problems = []
    for obj in _workloads(rendered[overlay]):
        pod = pod_spec(obj)
        pod_context = pod.get("securityContext", {})
        for container in _containers(obj):
            where = f"{obj['metadata']['name']}/{container['name']}"
            context = container.get("securityContext", {})
            if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
                problems.append(f"{where}: may run as root")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: writable root filesystem")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation allowed")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities not all dropped")
            seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                problems.append(f"{where}: no RuntimeDefault seccomp profile")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in _containers(obj):
            if not any(m["mountPath"] == "/tmp" and "emptyDir" in volumes.get(m["name"], {})
                       for m in container.get("volumeMounts", [])):  # fmt: skip
                if container["name"] != "redis":
                    problems.append(f"{obj['metadata']['name']}/{container['name']}: no emptyDir at /tmp")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_web_worker_migration_and_database(rendered, overlay):
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered[overlay]}
    for service in SERVICES:
        for kind, name in (
            ("Deployment", f"{service}-web"), ("Deployment", f"{service}-worker"), ("Service", service),
            ("Job", f"{service}-migrate"), ("Cluster", f"{service}-db"), ("HorizontalPodAutoscaler", f"{service}-web"),
            ("PodDisruptionBudget", f"{service}-web"), ("PodDisruptionBudget", f"{service}-worker"),
            ("ServiceMonitor", f"{service}-web"), ("ServiceMonitor", f"{service}-worker"),
        ):  # fmt: skip
            assert (kind, name) in names, f"{overlay}: {kind} {name} missing"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_web_deployment_has_an_hpa(rendered, overlay):
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(rendered[overlay], "HorizontalPodAutoscaler")}
    for obj in of_kind(rendered[overlay], "Deployment"):
        if _component(obj) == "web":
            assert obj["metadata"]["name"] in targets
            assert "replicas" not in obj["spec"], "the HPA owns the replica count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consuming_workers_scale_on_lag_and_never_past_their_partitions(rendered, overlay):
    consumed = _consumed_partitions()
    topics = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(rendered[overlay], "KafkaTopic")}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(rendered[overlay], "ScaledObject")}
    for service, declared in consumed.items():
        scaled_object = scaled.get(service if service == REDACTOR else f"{service}-worker")
        assert scaled_object, f"{service}-worker consumes {sorted(declared)} but has no ScaledObject"
        triggers = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "kafka"]
        others = {t["type"] for t in scaled_object["spec"]["triggers"]} - {"kafka"}
        assert others <= ({"postgresql"} if service == "notify-svc" else set()), others
        assert {t["metadata"]["consumerGroup"] for t in triggers} == {service}
        assert {t["metadata"]["topic"] for t in triggers} == set(declared), f"{service}: triggers drift from contracts"
        # Beyond the largest consumed topic's partition count a replica gets no partition at all.
        bound = max(topics[name] for name in declared)
        assert 1 <= scaled_object["spec"]["minReplicaCount"] <= scaled_object["spec"]["maxReplicaCount"] <= bound
    deployments = {d["metadata"]["name"]: d for d in of_kind(rendered[overlay], "Deployment")}
    for name in scaled:
        assert "replicas" not in deployments[name]["spec"], f"{name}: KEDA owns the replica count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notify_workers_also_scale_on_their_delivery_backlog(rendered, overlay):
    """Kafka lag counts events not yet turned into deliveries; the backlog counts deliveries due and
    unsent (a slow SMTP relay, retries), which several workers drain in parallel."""
    from notify.delivery import _UNFINISHED

    [scaled] = [s for s in of_kind(rendered[overlay], "ScaledObject") if s["metadata"]["name"] == "notify-svc-worker"]
    [backlog] = [t for t in scaled["spec"]["triggers"] if t["type"] == "postgresql"]
    query = backlog["metadata"]["query"]
    assert "FROM deliveries" in query and "next_attempt_at <= now()" in query
    assert set(re.findall(r"'([a-z-]+)'", query)) == set(_UNFINISHED)
    assert backlog["metadata"]["host"].startswith("notify-svc-db-rw.")
    authentication = {a["metadata"]["name"]: a for a in of_kind(rendered[overlay], "TriggerAuthentication")}
    secrets = {ref["name"] for ref in authentication[backlog["authenticationRef"]["name"]]["spec"]["secretTargetRef"]}
    assert secrets == {"notify-svc-db-app"}
    keda_in = [
        p for p in of_kind(rendered[overlay], "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels") == {"cnpg.io/cluster": "notify-svc-db"}
        and any(
            peer.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "keda"}
            for rule in p["spec"].get("ingress", []) for peer in rule["from"]
        )
    ]  # fmt: skip
    assert keda_in, "KEDA cannot reach notify-svc's database"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_relay_only_workers_keep_a_standing_replica_and_a_budget(rendered, overlay):
    """petition-svc and identity-svc consume nothing: their worker is the outbox relay alone,
    single-active by an advisory lock, so more pods add no throughput; a fixed count is enough."""
    consumed = _consumed_partitions()
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(rendered[overlay], "ScaledObject")}
    budgets = {p["metadata"]["name"] for p in of_kind(rendered[overlay], "PodDisruptionBudget")}
    for obj in of_kind(rendered[overlay], "Deployment"):
        name = obj["metadata"]["name"]
        service = obj["metadata"]["labels"]["app.kubernetes.io/name"]
        if _component(obj) != "worker" or service in consumed:
            continue
        assert name not in scaled
        assert obj["spec"].get("replicas", 1) >= 1
        assert name in budgets


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_archiver_is_a_single_writer_on_its_volume(rendered, overlay):
    """Two archivers would both append the same batch: one replica, replaced by Recreate, never rolled."""
    archiver = next(
        d for d in of_kind(rendered[overlay], "Deployment") if d["metadata"]["name"] == "analytics-archiver"
    )
    assert archiver["spec"]["replicas"] == 1 and archiver["spec"]["strategy"]["type"] == "Recreate"
    assert "analytics-archiver" not in {
        s["spec"]["scaleTargetRef"]["name"] for s in of_kind(rendered[overlay], "ScaledObject")
    }
    volumes = {v["name"]: v for v in pod_spec(archiver)["volumes"]}
    claims = {c["metadata"]["name"] for c in of_kind(rendered[overlay], "PersistentVolumeClaim")}
    assert volumes["archive"]["persistentVolumeClaim"]["claimName"] in claims


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_selects_some_pods(rendered, overlay):
    templates = [
        (o["metadata"].get("namespace"), pod_labels)
        for o in _workloads(rendered[overlay])
        for pod_labels in [pod_template(o)["metadata"].get("labels", {})]
    ]
    for service in of_kind(rendered[overlay], "Service"):
        selector = service["spec"].get("selector")
        assert selector, f"Service {service['metadata']['name']} has no selector"
        assert any(
            namespace == service["metadata"].get("namespace") and selector.items() <= labels.items()
            for namespace, labels in templates
        ), f"Service {service['metadata']['name']} selects no pod"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_port_names_a_container_port(rendered, overlay):
    for service in of_kind(rendered[overlay], "Service"):
        selector = service["spec"]["selector"]
        ports = {
            p.get("name")
            for o in _workloads(rendered[overlay])
            if selector.items() <= pod_template(o)["metadata"].get("labels", {}).items()
            for c in _containers(o)
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"{service['metadata']['name']}: no container port {port['targetPort']}"


def test_prod_has_no_secret_objects(rendered):
    secrets = of_kind(rendered["prod"], "Secret")
    assert not secrets, f"prod must only reference Secrets: {[s['metadata']['name'] for s in secrets]}"


def test_dev_secrets_are_marked_dev_only(rendered):
    for secret in of_kind(rendered["dev"], "Secret"):
        assert secret["metadata"]["labels"].get("mai.gov.ro/dev-only") == "true", secret["metadata"]["name"]


def test_prod_never_enables_a_test_identification_provider(rendered):
    for config in of_kind(rendered["prod"], "ConfigMap"):
        data = config.get("data", {})
        assert not [k for k, v in data.items() if k.endswith("_TEST_PROVIDER") and v.lower() == "true"], data
        assert all(v.startswith("https://") for k, v in data.items() if k.endswith(("_ISSUER", "_REDIRECT_URIS")))
        assert config.get("data", {}).get("ENVIRONMENT", "production") == "production"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_denies_by_default(rendered, overlay):
    policies = of_kind(rendered[overlay], "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress") and not p["spec"].get("egress")
        for p in policies
    ), "no default-deny NetworkPolicy"  # fmt: skip
    selected = {tuple(sorted(p["spec"]["podSelector"].get("matchLabels", {}).items())) for p in policies}
    for obj in _workloads(rendered[overlay]):
        labels = pod_template(obj)["metadata"]["labels"]
        key = tuple(sorted((k, v) for k, v in labels.items()
                           if k in ("app.kubernetes.io/name", "app.kubernetes.io/component")))  # fmt: skip
        assert key in selected or (("app.kubernetes.io/name", labels["app.kubernetes.io/name"]),) in selected, (
            f"{obj['metadata']['name']} has no NetworkPolicy of its own"
        )


#: What the ingress controller may reach: the gateway (the citizens' host) and the staff console (its
#: own host, allow-listed to the ministry's networks: test_the_console_is_reached_only_through_...).
FROM_OUTSIDE = {"gateway", "console-svc"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_and_the_staff_console_are_reachable_from_the_ingress_controller(rendered, overlay):
    for policy in of_kind(rendered[overlay], "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                if namespace == "ingress-nginx":
                    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] in FROM_OUTSIDE
    ingresses = of_kind(rendered[overlay], "Ingress")
    assert ingresses
    for ingress in ingresses:  # the public one, the gateway's operator paths (closed: test_ingress.py), the staff host
        backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
        expected = {"console-svc"} if ingress["metadata"]["name"] == "console-svc" else {"gateway"}
        assert backends == expected, ingress["metadata"]["name"]
        assert ingress["spec"]["tls"] and "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_database_urls_come_from_the_operator_secret(rendered, overlay):
    for obj in _workloads(rendered[overlay]):
        for container in _containers(obj):
            env = {e["name"]: e for e in container.get("env", [])}
            if "DATABASE_URL" not in env:
                continue
            service = obj["metadata"]["labels"]["app.kubernetes.io/name"]
            assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{service}-db-app"
            assert "$(DB_PASSWORD)" in env["DATABASE_URL"]["value"]
            # Web pods go through the PgBouncer Pooler; the rest connect to the primary (test_connection_budget.py).
            host = f"{service}-db-pooler-rw" if container["name"] == "web" else f"{service}-db-rw"
            assert f"@{host}:" in env["DATABASE_URL"]["value"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_carry_the_overlay_tag(rendered, overlay):
    for obj in _workloads(rendered[overlay]):
        for container in _containers(obj):
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), f"{obj['metadata']['name']}: {image}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_gate_the_new_pods(rendered, overlay):
    """Every service's migrate Job runs before its Deployments under Argo CD (a PreSync hook, a new
    Job each sync), and each service with a database has one."""
    jobs = [
        job
        for job in of_kind(rendered[overlay], "Job")
        if job["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migrate"
    ]
    annotations = [job["metadata"].get("annotations", {}) for job in jobs]
    assert all(a.get("argocd.argoproj.io/hook") == "PreSync" for a in annotations)
    assert all(a.get("argocd.argoproj.io/hook-delete-policy") == "BeforeHookCreation" for a in annotations)
    with_database = {
        c["metadata"]["name"].removesuffix("-db")
        for c in rendered[overlay]
        if c["kind"] == "Cluster" and c["apiVersion"].startswith("postgresql.cnpg.io")
    }
    migrated = {job["metadata"]["labels"]["app.kubernetes.io/name"] for job in jobs}
    assert with_database and with_database <= migrated


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_portal_is_web_only_with_its_migration_and_database(rendered, overlay):
    """portal-svc publishes and consumes no events: a web Deployment, its migrations, its database."""
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered[overlay]}
    for kind, name in (
        ("Deployment", "portal-svc-web"), ("Service", "portal-svc"), ("Job", "portal-svc-migrate"),
        ("Cluster", "portal-svc-db"), ("HorizontalPodAutoscaler", "portal-svc-web"),
        ("PodDisruptionBudget", "portal-svc-web"), ("ServiceMonitor", "portal-svc-web"),
    ):  # fmt: skip
        assert (kind, name) in names, f"{overlay}: {kind} {name} missing"
    assert ("Deployment", "portal-svc-worker") not in names


def _policy(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (policy,) = [p for p in of_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == name]
    return policy


def _peers(rules: list[dict[str, Any]], side: str) -> list[tuple[dict[str, Any], set[int]]]:
    """(peer selector, ports) of every peer of the rules; ``{}`` for a rule open to any peer."""
    found = []
    for rule in rules:
        ports = {p["port"] for p in rule.get("ports", [])}
        for peer in rule.get(side, [{}]):
            found.append((peer, ports))
    return found


def _selects(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = peer.get("podSelector")
    if selector is None or "namespaceSelector" in peer:
        return False
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    return all(
        labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []) if e["operator"] == "In"
    )


PORTAL_WEB = {"app.kubernetes.io/name": "portal-svc", "app.kubernetes.io/component": "web"}
CONSOLE_WEB = {"app.kubernetes.io/name": "console-svc", "app.kubernetes.io/component": "web"}
INGRESS_CONTROLLER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
GATEWAY_WEB = {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/component": "web"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_portal_talks_only_with_the_gateway_and_its_database(rendered, overlay):
    objects = rendered[overlay]
    portal = _policy(objects, "portal-svc-web")["spec"]
    ingress = _peers(portal["ingress"], "from")
    # Pages come from the gateway; Prometheus scrapes from its namespace; nobody else.
    assert [ports for peer, ports in ingress if _selects(peer, GATEWAY_WEB)] == [{8080}]
    others = [peer for peer, _ports in ingress if not _selects(peer, GATEWAY_WEB)]
    assert others == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    egress = _peers(portal["egress"], "to")
    assert sorted((sorted(peer["podSelector"]["matchLabels"].items()), sorted(ports)) for peer, ports in egress) == [
        ([("app.kubernetes.io/component", "web"), ("app.kubernetes.io/name", "gateway")], [8081]),
        ([("cnpg.io/cluster", "portal-svc-db")], [5432]),
    ]
    # The gateway's side: it lets the portal in on its internal listener only (the API calls) and
    # may reach the portal's pods (the pages).
    gateway = _policy(objects, "gateway-web")["spec"]
    assert [ports for peer, ports in _peers(gateway["ingress"], "from") if _selects(peer, PORTAL_WEB)] == [{8081}]
    assert any(_selects(peer, PORTAL_WEB) and ports == {8080} for peer, ports in _peers(gateway["egress"], "to"))
    # Its database takes the portal's web and migration pods only.
    database = _policy(objects, "portal-svc-db-clients")["spec"]
    (rule,) = database["ingress"]
    expressions = {e["key"]: set(e["values"]) for e in rule["from"][0]["podSelector"]["matchExpressions"]}
    assert expressions == {"app.kubernetes.io/name": {"portal-svc"}, "app.kubernetes.io/component": {"web", "migrate"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_console_is_web_only_with_its_migration_and_database(rendered, overlay):
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered[overlay]}
    for kind, name in (
        ("Deployment", "console-svc-web"), ("Service", "console-svc"), ("Job", "console-svc-migrate"),
        ("Cluster", "console-svc-db"), ("Ingress", "console-svc"), ("ServiceMonitor", "console-svc-web"),
    ):  # fmt: skip
        assert (kind, name) in names, f"{overlay}: {kind} {name} missing"
    assert ("Deployment", "console-svc-worker") not in names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_console_is_reached_only_through_its_own_allow_listed_host(rendered, overlay):
    """The staff host's Ingress admits listed networks only; the pods take traffic from the ingress
    controller (and Prometheus) only, never from the gateway; the citizens' host has no route to it."""
    objects = rendered[overlay]
    (ingress,) = [i for i in of_kind(objects, "Ingress") if i["metadata"]["name"] == "console-svc"]
    allowed = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"]
    assert allowed and "0.0.0.0/0" not in allowed and "::/0" not in allowed
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    public = {
        r["host"] for i in of_kind(objects, "Ingress") if i["metadata"]["name"] == "gateway" for r in i["spec"]["rules"]
    }
    assert hosts and not hosts & public
    backends = {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert backends == {"console-svc"}
    console = _policy(objects, "console-svc-web")["spec"]
    assert sorted(map(str, (peer for peer, _ports in _peers(console["ingress"], "from")))) == sorted(
        map(str, (INGRESS_CONTROLLER, MONITORING))
    )
    egress = _peers(console["egress"], "to")
    assert sorted((sorted(peer["podSelector"]["matchLabels"].items()), sorted(ports)) for peer, ports in egress) == [
        ([("app.kubernetes.io/component", "web"), ("app.kubernetes.io/name", "gateway")], [8081]),
        ([("cnpg.io/cluster", "console-svc-db")], [5432]),
    ]
    gateway = _policy(objects, "gateway-web")["spec"]
    # Its API calls arrive on the gateway's internal listener, whose connections page traffic cannot take.
    assert any(_selects(peer, CONSOLE_WEB) and ports == {8081} for peer, ports in _peers(gateway["ingress"], "from"))
    assert not any(_selects(peer, CONSOLE_WEB) for peer, _ports in _peers(gateway["egress"], "to"))
    (routes,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith("gateway-routes")]
    assert "console-svc" not in routes["data"]["routes.yaml"]
