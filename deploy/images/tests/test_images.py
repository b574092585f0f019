"""Every image starts as the Kubernetes manifests run it, and does its work (``make test-images``).

The dev overlay is rendered (``deploy/k8s/render.sh dev``) and each service's migrate Job, web and
worker Deployments are run as podman containers of the images ``make images`` built, with what
the pod spec gives them: command and arguments, the ConfigMaps' and Secrets' environment, the
user and group ids, a read-only root filesystem (no other writable path than the pod's volumes:
emptyDirs as tmpfs, claims as fresh directories, Secret and ConfigMap volumes as their files),
no capabilities, no privilege escalation. What cannot be the cluster's is replaced, and only
that: the addresses of PostgreSQL, Kafka, the SMTP server and identity-svc (the machine's own,
with a test database per service and a test topic prefix), and the ports, since the containers
share the host's network (8080 and 9090 in every pod become free ports here, probes included).

Then, for every service: the startup, liveness and readiness probes answer 200, /metrics answers
on the web and the worker, an event written into the outbox reaches its topic once, and an event
it consumes is applied once. The gateway is started last, its route table's upstreams pointed at
the service containers: it is ready, and a request goes through it to a service.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mai_contracts
import pytest
import requests
from mai_chassis.testing import wait_until
from mai_devtools.ports import free_port
from mai_devtools.roundtrip import (
    applied_count,
    metric_samples,
    produce_example,
    put_example_in_outbox,
    roundtrip_for,
    topic_has_event,
)
from manifests import of_kind, pod_spec, render

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PODMAN = str(ROOT / "deploy" / "images" / "podman.sh")
IMAGE_TAG = os.environ.get("IMAGE_TAG", "dev")
SERVICES = [
    line.split()[0]
    for line in (ROOT / "deploy" / "images" / "services.conf").read_text().splitlines()
    if line.strip() and not line.startswith("#") and line.split()[0] != "gateway"
]
_EXPANSION = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def podman(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


@dataclass
class Container:
    name: str
    ports: dict[int, int]  # container port in the manifest -> port on this machine
    spec: dict[str, Any]  # the container's spec in the manifest
    extra: dict[str, Any] = field(default_factory=dict)

    def port(self, named: str | int) -> int:
        if isinstance(named, int):
            return self.ports[named]
        (number,) = [p["containerPort"] for p in self.spec.get("ports", []) if p["name"] == named]
        return self.ports[number]

    def logs(self) -> str:
        return podman("logs", self.name).stdout[-4000:] + podman("logs", self.name).stderr[-4000:]

    def running(self) -> bool:
        return podman("inspect", "--format", "{{.State.Running}}", self.name).stdout.strip() == "true"


def _test_broker_ca() -> str:
    """The PEM text of the CA the test broker's certificate comes from (empty without TLS)."""
    cafile = os.environ.get("KAFKA_SSL_CAFILE", "")
    return Path(cafile).read_text(encoding="ascii") if cafile else ""


class Pods:
    """Runs pod specs of the rendered overlay as podman containers on the host network."""

    def __init__(self, objects: list[dict[str, Any]], workdir: Path, overrides: dict[str, str]) -> None:
        self.objects = objects
        self.workdir = workdir
        self.overrides = overrides
        #: Text replaced in the files of ConfigMap and Secret volumes (cluster names -> local addresses).
        self.rewrites: dict[str, str] = {}
        self.started: list[Container] = []
        self.run_id = uuid.uuid4().hex[:8]
        self.configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(objects, "ConfigMap")}
        self.secrets = {s["metadata"]["name"]: _secret_data(s) for s in of_kind(objects, "Secret")}
        # Made by Strimzi in a cluster, so in no rendered manifest: the cluster CA the Kafka clients
        # mount. The test broker's CA stands in for it (the local broker's listener is TLS); a broker
        # without TLS has none, and then KAFKA_SSL_CAFILE is blanked and the file stands in empty.
        self.secrets.setdefault("mai-kafka-cluster-ca-cert", {"ca.crt": _test_broker_ca()})

    def workload(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [o for o in of_kind(self.objects, kind) if o["metadata"]["name"] == name]
        return found

    def has(self, kind: str, name: str) -> bool:
        return any(o["metadata"]["name"] == name for o in of_kind(self.objects, kind))

    def environment(self, container: dict[str, Any], service_overrides: dict[str, str]) -> dict[str, str]:
        """The container's environment as the kubelet builds it, then the addresses and ports replaced."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.configmaps[source["configMapRef"]["name"]])
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = _EXPANSION.sub(lambda m: env.get(m.group(1), m.group(0)), entry["value"])
            elif "secretKeyRef" in entry.get("valueFrom", {}):
                ref = entry["valueFrom"]["secretKeyRef"]
                # The database's credentials are made by its operator: the test database replaces them.
                env[entry["name"]] = self.secrets.get(ref["name"], {}).get(ref["key"], "made-by-the-operator")
            elif "configMapKeyRef" in entry.get("valueFrom", {}):
                ref = entry["valueFrom"]["configMapKeyRef"]
                env[entry["name"]] = self.configmaps[ref["name"]][ref["key"]]
        env.update({k: v for k, v in self.overrides.items() if k in env or k.startswith("KAFKA_")})
        env.update(service_overrides)
        return env

    def run(
        self,
        workload: dict[str, Any],
        *,
        service_overrides: dict[str, str],
        detach: bool = True,
        timeout: float = 180,
    ) -> Container | subprocess.CompletedProcess[str]:
        spec = pod_spec(workload)
        assert spec is not None
        (container,) = spec["containers"]
        pod_security, security = spec.get("securityContext", {}), container.get("securityContext", {})
        # What the pod spec asks for, which the cluster's policies also require.
        assert security.get("readOnlyRootFilesystem") is True
        assert security.get("allowPrivilegeEscalation") is False
        assert security.get("capabilities", {}).get("drop") == ["ALL"]
        user = security.get("runAsUser", pod_security.get("runAsUser"))
        group = security.get("runAsGroup", pod_security.get("runAsGroup"))
        assert user and user != 0 and group

        name = f"mai-test-{self.run_id}-{workload['metadata']['name']}"
        ports = {p["containerPort"]: free_port() for p in container.get("ports", [])}
        env = self.environment(container, service_overrides)
        for variable in ("PORT", "METRICS_PORT"):
            if variable in env and int(env[variable]) in ports:
                env[variable] = str(ports[int(env[variable])])
        options = [
            "--name", name,
            "--network", "host",
            "--read-only", "--read-only-tmpfs=false",
            "--user", f"{user}:{group}",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--entrypoint", container["command"][0],
        ]  # fmt: skip
        options += self._volumes(spec, container, name, user, group)
        for variable in env:
            options += ["--env", variable]  # the value from podman's own environment: PEM keys have newlines
        image = container["image"].split(":")[0]
        command = [
            "run",
            *(["--detach"] if detach else ["--rm"]),
            *options,
            f"localhost/{image}:{IMAGE_TAG}",
            *container["command"][1:],
            *container.get("args", []),
        ]
        result = podman(*command, env={**os.environ, **env}, timeout=timeout)
        if not detach:
            return result
        assert result.returncode == 0, result.stderr
        started = Container(name, ports, container)
        self.started.append(started)
        return started

    def _volumes(self, spec: dict[str, Any], container: dict[str, Any], name: str, user: int, group: int) -> list[str]:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        options: list[str] = []
        for mount in container.get("volumeMounts", []):
            volume, path = volumes[mount["name"]], mount["mountPath"]
            if "emptyDir" in volume:
                size = volume["emptyDir"].get("sizeLimit", "64Mi").replace("Mi", "m")
                options += ["--tmpfs", f"{path}:rw,size={size},mode=1777"]
                continue
            source = self.workdir / name / mount["name"]
            source.mkdir(parents=True, exist_ok=True)
            if "persistentVolumeClaim" in volume:
                os.chown(source, user, group)  # fsGroup: the pod's group owns the volume
            elif "secret" in volume or "configMap" in volume:
                files = (
                    self.secrets[volume["secret"]["secretName"]]
                    if "secret" in volume
                    else self.configmaps[volume["configMap"]["name"]]
                )
                for file_name, content in files.items():
                    (source / file_name).write_text(self._rewrite(content))
                    os.chmod(source / file_name, 0o644)
            else:
                raise AssertionError(f"{name}: a volume this test does not know how to stand in for: {volume}")
            options += ["--volume", f"{source}:{path}:{'ro' if mount.get('readOnly') else 'rw'}"]
        return options

    def _rewrite(self, content: str) -> str:
        for old, new in self.rewrites.items():
            content = content.replace(old, new)
        return content

    def stop_all(self) -> None:
        for container in reversed(self.started):
            podman("rm", "--force", "--time", "20", container.name, timeout=60)


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def wait_answers(container: Container, url: str, *, status: int = 200, timeout: float = 90) -> requests.Response:
    def answered() -> requests.Response | None:
        assert container.running(), f"{container.name} stopped:\n{container.logs()}"
        try:
            response = requests.get(url, timeout=2)
        except requests.RequestException:
            return None
        return response if response.status_code == status else None

    response: requests.Response = wait_until(answered, timeout=timeout, interval=0.5, what=url)
    return response


def check_probes(container: Container) -> None:
    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.spec.get(probe_name)
        if probe is None:
            continue
        http = probe["httpGet"]
        wait_answers(container, f"http://127.0.0.1:{container.port(http['port'])}{http['path']}")


@pytest.fixture(scope="module")
def images_built() -> None:
    missing = [
        s for s in [*SERVICES, "gateway"] if podman("image", "exists", f"localhost/mai/{s}:{IMAGE_TAG}").returncode
    ]
    if missing:
        pytest.fail(f"images not built: {', '.join(missing)} — run `make images` first (make test-images does)")


@pytest.fixture(scope="module")
def rendered_dev() -> list[dict[str, Any]]:
    return render("dev")


@pytest.fixture(scope="module")
def platform(
    images_built: None,
    rendered_dev: list[dict[str, Any]],
    kafka_bootstrap_servers: str,
    database_factory: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """Every service's migrate Job run, then its web and worker Deployments started, as containers."""
    from mai_chassis.testing import delete_topics, ensure_topics, kafka_user_environment
    from mai_devtools import SmtpSink

    prefix = f"img{uuid.uuid4().hex[:6]}."
    ensure_topics(kafka_bootstrap_servers, prefix=prefix)
    sink = SmtpSink()
    sink.start()
    workdir = tmp_path_factory.mktemp("pods")
    workdir.chmod(0o755)
    overrides = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": prefix,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
    }
    pods = Pods(rendered_dev, workdir, overrides)
    databases = {service: database_factory(service.removesuffix("-svc")) for service in SERVICES}
    containers: dict[str, Container] = {}
    kafka_users = {u.name for u in mai_contracts.kafka_users()}
    kafka_env: dict[str, dict[str, str]] = {}
    try:
        for service in ["identity-svc", *[s for s in SERVICES if s != "identity-svc"]]:
            own = {"DATABASE_URL": databases[service]}
            if service in kafka_users:
                # The test broker's security in place of the cluster's (TLS with Strimzi's CA): the
                # service's own user, with its ACLs on this run's topics.
                user_env = kafka_user_environment(kafka_bootstrap_servers, service, prefix=prefix)
                # The CA is read where the manifests mount it (holding the test broker's CA).
                user_env.pop("KAFKA_SSL_CAFILE", None)
                kafka_env[service] = {**({} if _test_broker_ca() else {"KAFKA_SSL_CAFILE": ""}), **user_env}
                own |= kafka_env[service]
            if "identity-svc-web" in containers:
                identity = f"http://127.0.0.1:{containers['identity-svc-web'].port('http')}"
                own |= {"IDENTITY_URL": identity, "JWT_JWKS_URL": f"{identity}/.well-known/jwks.json"}
            if pods.has("Job", f"{service}-migrate"):  # a service without a database has none
                migrated = pods.run(pods.workload("Job", f"{service}-migrate"), service_overrides=own, detach=False)
                assert isinstance(migrated, subprocess.CompletedProcess)
                assert migrated.returncode == 0, (
                    f"{service} migrate:\n{migrated.stdout[-3000:]}{migrated.stderr[-3000:]}"
                )
            for component in ("web", "worker"):
                if component == "worker" and not pods.has("Deployment", f"{service}-worker"):
                    continue  # a service that neither publishes nor consumes events: checked below
                started = pods.run(pods.workload("Deployment", f"{service}-{component}"), service_overrides=own)
                assert isinstance(started, Container)
                containers[f"{service}-{component}"] = started
        yield {
            "pods": pods,
            "containers": containers,
            "databases": databases,
            "prefix": prefix,
            "kafka_env": kafka_env,
        }
    finally:
        pods.stop_all()
        sink.stop()
        delete_topics(kafka_bootstrap_servers, prefix)


@pytest.mark.parametrize("service", SERVICES)
def test_web_answers_its_probes_and_metrics(platform: dict[str, Any], service: str) -> None:
    web: Container = platform["containers"][f"{service}-web"]
    check_probes(web)
    metrics = wait_answers(web, f"http://127.0.0.1:{web.port('http')}/metrics")
    assert "# TYPE" in metrics.text
    assert web.running()


@pytest.mark.parametrize("service", SERVICES)
def test_worker_relays_its_outbox_once_and_applies_what_it_consumes_once(
    platform: dict[str, Any], service: str, kafka_bootstrap_servers: str
) -> None:
    if f"{service}-worker" not in platform["containers"]:
        import mai_contracts

        topics = mai_contracts.load_topics(include_dlq=False)
        assert not [t for t in topics if t.owner == service or service in t.consumers], f"{service} has no worker"
        return
    worker: Container = platform["containers"][f"{service}-worker"]
    database, prefix = platform["databases"][service], platform["prefix"]
    check_probes(worker)
    case = roundtrip_for(service)
    published = put_example_in_outbox(database, service, case.publishes) if case.publishes else None
    if case.publishes and published:
        assert topic_has_event(kafka_bootstrap_servers, prefix, case.publishes, published) == 1
    if case.consumes:
        consumed = produce_example(kafka_bootstrap_servers, prefix, case.consumes)
        wait_until(lambda: applied_count(database, consumed) == 1, timeout=60, what=f"{service} applied the event")
    metrics_url = f"http://127.0.0.1:{worker.port('metrics')}/metrics"

    def published_counted() -> str | None:
        assert worker.running(), f"{worker.name} stopped:\n{worker.logs()}"
        try:
            body = requests.get(metrics_url, timeout=5).text
        except requests.RequestException:
            # A scrape that meets a process's metric file while it is being created is dropped
            # (prometheus_client's multi-process mode); Prometheus, like this, asks again.
            return None
        metric, labels = case.counted_metric
        return body if metric_samples(body, metric, service=service, **labels) >= 1 else None

    text = wait_until(published_counted, timeout=30, interval=0.5, what=f"{service} worker metrics")
    if case.consumes:
        assert metric_samples(text, "events_processed_total", service=service, outcome="processed") >= 1
    # Still once: the worker did not crash and publish its batch again, nor apply the event twice.
    assert worker.running(), worker.logs()
    if case.publishes and published:
        assert topic_has_event(kafka_bootstrap_servers, prefix, case.publishes, published) == 1
    if case.consumes:
        assert applied_count(database, consumed) == 1


def test_gateway_is_ready_and_routes_to_the_services(platform: dict[str, Any]) -> None:
    pods: Pods = platform["pods"]
    containers: dict[str, Container] = platform["containers"]
    # The route table's upstreams are the Services' cluster names: here, the web containers' ports.
    pods.rewrites = {
        f"http://{service}": f"http://127.0.0.1:{containers[f'{service}-web'].port('http')}" for service in SERVICES
    }
    identity = f"http://127.0.0.1:{containers['identity-svc-web'].port('http')}"
    gateway = pods.run(
        pods.workload("Deployment", "gateway-web"),
        service_overrides={"JWT_JWKS_URL": f"{identity}/.well-known/jwks.json"},
    )
    assert isinstance(gateway, Container)
    check_probes(gateway)
    ready = wait_answers(gateway, f"http://127.0.0.1:{gateway.port('http')}/readyz")
    assert ready.status_code == 200
    offices = requests.get(f"http://127.0.0.1:{gateway.port('http')}/api/v1/offices", timeout=10)
    assert offices.status_code == 200, offices.text
    assert json.loads(offices.text)
    metrics = requests.get(f"http://127.0.0.1:{gateway.port('http')}/metrics", timeout=5)
    assert metrics.status_code == 200 and "gateway_" in metrics.text


def test_scheduled_jobs_run_to_completion_in_their_images(platform: dict[str, Any]) -> None:
    """Every CronJob of a service (slot generation, key rotation, notification purge) as its pod runs it."""
    pods: Pods = platform["pods"]
    crons = [
        c for c in of_kind(pods.objects, "CronJob") if c["metadata"]["labels"]["app.kubernetes.io/name"] in SERVICES
    ]
    assert crons
    for cron in crons:
        service = cron["metadata"]["labels"]["app.kubernetes.io/name"]
        own = {"DATABASE_URL": platform["databases"][service], **platform["kafka_env"].get(service, {})}
        result = pods.run(cron, service_overrides=own, detach=False)
        assert isinstance(result, subprocess.CompletedProcess)
        assert result.returncode == 0, f"{cron['metadata']['name']}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
