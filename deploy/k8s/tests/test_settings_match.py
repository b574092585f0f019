"""Every container gets the environment its service's settings class requires, and nothing stale.

For each rendered workload (Deployment, Job, CronJob) of a service, in both overlays, the container's
environment is rebuilt as the kubelet would build it: ``envFrom`` ConfigMaps (their real values),
then ``env`` (literal values with ``$(VAR)`` expanded; Secret references replaced by dummy values
of the right shape: Fernet keys for ``*_KEYS``, 64 hex characters for ``*_KEY``, URLs for ``*_URL``).
The service's own ``Settings.from_env()`` must then build without a ``ConfigurationError``, which
also proves the non-secret values valid (``STORAGE_BACKEND``, ``SMTP_SECURITY``, a test
identification provider refused under ``ENVIRONMENT=production``...).

The same run records which variables the settings read: a variable set on a container that the
service reads in no configuration (either overlay, any component) is a leftover and fails.
Beyond the settings, the directories they name must be writable volumes, the signing files
mounted, dev's Secrets must hold every referenced key, every command must parse, and the README's
Secret table must name every Secret prod references.
"""

from __future__ import annotations

import importlib
import os
import re
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from mai_devtools.service_list import service_list
from manifests import K8S_DIR, OVERLAYS, of_kind, pod_spec, pod_template

#: app.kubernetes.io/name -> the package whose ``service.definition`` describes it (deploy/services.yaml).
PACKAGES = {**{s.name: s.package for s in service_list()}, "gateway": "gateway"}
#: Services that publish and consume no events: a web process and its migrations, no worker.
WEB_ONLY = {s.name for s in service_list() if not s.worker}
#: Read outside the settings class, by (service, component); "*" for any.
READ_ELSEWHERE = {
    ("*", "*"): {"DB_USERNAME", "DB_PASSWORD"},  # only expanded into DATABASE_URL
    ("*", "web"): {"PROMETHEUS_MULTIPROC_DIR"},  # the chassis, before gunicorn forks
    ("notify-svc", "worker"): {"EVENT_SEALING_KEYS"},  # Sealer.from_env() in the delivery loops
    ("booking-svc", "web"): {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},  # boto3, DOCUMENT_STORE=s3
    ("booking-svc", "purge"): {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},  # boto3: removes expired scans
}
#: Secrets made by an operator, never by hand: not in the dev overlay, not in the README table —
#: CloudNativePG's database users, and Strimzi's cluster CA certificate.
OPERATOR_SECRET = re.compile(r"^(.+-db-app|mai-kafka-cluster-ca-cert)$")


def _operator_made(name: str, rendered_objects: list[dict[str, Any]]) -> bool:
    """Whether an operator makes the Secret (the User Operator one per KafkaUser, named after it)."""
    return bool(OPERATOR_SECRET.match(name)) or name in {
        u["metadata"]["name"] for u in of_kind(rendered_objects, "KafkaUser")
    }


_EXPANSION = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_FERNET = Fernet.generate_key().decode()


class RecordingEnviron(dict):
    """``os.environ`` stand-in that remembers every name asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def dummy(name: str) -> str:
    """A placeholder shaped like the real secret value."""
    if name.endswith("_KEYS"):
        return _FERNET
    if name.endswith("_PUBLIC_KEY"):
        return "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    if name.endswith("_KEY"):
        return "0123456789abcdef" * 4
    if name.endswith(("_URL", "_URI")):
        return "https://dummy.invalid/path"
    if name.endswith("PORT"):
        return "1234"
    return f"dummy-{name.lower()}"


def _service(obj: dict[str, Any]) -> str:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")


def _component(obj: dict[str, Any]) -> str:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")


def _containers(objects: list[dict[str, Any]]):
    """(workload, container) of every container that runs a service's image."""
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None or _service(obj) not in PACKAGES:
            continue
        for container in spec.get("initContainers", []) + spec["containers"]:
            # mai/<service>:<tag> (dev), <registry>/mai/<service>@sha256:<digest> (prod)
            if re.split(r"[@:]", container["image"])[0].endswith(f"mai/{_service(obj)}"):
                yield obj, container


def container_env(objects: list[dict[str, Any]], container: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
    """The container's environment as the kubelet builds it, and the names that hold secrets."""
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(objects, "ConfigMap")}
    env: dict[str, str] = {}
    secret_names: set[str] = set()
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "envFrom a Secret hides which keys a container gets: use env"
        name = source["configMapRef"]["name"]
        assert name in configmaps, f"envFrom names a ConfigMap that is not rendered: {name}"
        env.update({source.get("prefix", "") + k: v for k, v in configmaps[name].items()})
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            env[name] = _EXPANSION.sub(lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            env[name] = dummy(name)
            secret_names.add(name)
        elif "configMapKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["configMapKeyRef"]
            env[name] = configmaps[ref["name"]][ref["key"]]
        else:
            env[name] = dummy(name)
    return env, secret_names


def build_settings(service: str, env: dict[str, str]) -> tuple[Any, set[str]]:
    """The service's Settings built from exactly ``env``; and the names it asked for."""
    settings_class = importlib.import_module(f"{PACKAGES[service]}.service").definition.settings_class
    environ = RecordingEnviron(env)
    with mock.patch.object(os, "environ", environ):
        settings = settings_class.from_env()
    return settings, environ.asked


def _mounts(spec: dict[str, Any], container: dict[str, Any]) -> list[tuple[PurePosixPath, dict[str, Any], bool]]:
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    return [
        (PurePosixPath(m["mountPath"]), volumes[m["name"]], bool(m.get("readOnly")))
        for m in container.get("volumeMounts", [])
    ]


def _volume_under(spec, container, path: str) -> tuple[PurePosixPath, dict[str, Any], bool] | None:
    """The mounted volume a path lies in (the deepest mount containing it), or None: the root filesystem."""
    target = PurePosixPath(path)
    found = [m for m in _mounts(spec, container) if target == m[0] or m[0] in target.parents]
    return max(found, key=lambda m: len(m[0].parts), default=None)


@pytest.fixture(scope="module")
def settings_runs(rendered):
    """(overlay, workload, container, env, secret names, settings or error, names asked) for every service container."""
    runs = []
    for overlay in OVERLAYS:
        for obj, container in _containers(rendered[overlay]):
            env, secrets = container_env(rendered[overlay], container)
            try:
                settings, asked = build_settings(_service(obj), env)
            except Exception as exc:
                settings, asked = exc, set()
            runs.append((overlay, obj, container, env, secrets, settings, asked))
    return runs


def _where(overlay: str, obj: dict[str, Any], container: dict[str, Any]) -> str:
    return f"{overlay}: {obj['kind']} {obj['metadata']['name']}/{container['name']}"


def test_every_service_workload_is_checked(settings_runs):
    seen = {(overlay, _service(obj), _component(obj)) for overlay, obj, *_ in settings_runs}
    for overlay in OVERLAYS:
        for service in PACKAGES:
            if service == "gateway":
                components: tuple[str, ...] = ("web",)
            elif service in WEB_ONLY:
                components = ("web", "migrate")
            else:
                components = ("web", "worker", "migrate")
            for component in components:
                assert (overlay, service, component) in seen, f"{overlay}: no {service} {component} container"
    assert ("prod", "notify-svc", "purge") in seen, "no notify-svc purge CronJob"


def test_settings_build_from_the_rendered_environment(settings_runs):
    failures = [
        f"{_where(overlay, obj, container)}: {type(settings).__name__}: {settings}"
        for overlay, obj, container, _env, _secrets, settings, _asked in settings_runs
        if isinstance(settings, Exception)
    ]
    assert not failures, "\n".join(failures)


def test_production_runs_production_settings(settings_runs):
    for overlay, obj, container, _env, _secrets, settings, _asked in settings_runs:
        expected = "production" if overlay == "prod" else "development"
        assert getattr(settings, "environment", None) == expected, _where(overlay, obj, container)


def test_no_container_carries_a_variable_its_service_never_reads(settings_runs):
    """Stale names (an S3 key the service has no S3 for, a key directory it no longer reads) fail."""
    read: dict[str, set[str]] = defaultdict(set)
    for _overlay, obj, _container, _env, _secrets, _settings, asked in settings_runs:
        read[_service(obj)] |= asked
    problems = []
    for overlay, obj, container, env, _secrets, _settings, _asked in settings_runs:
        service, component = _service(obj), _component(obj)
        allowed = read[service].union(
            *(names for (s, c), names in READ_ELSEWHERE.items() if s in ("*", service) and c in ("*", component))
        )
        for name in sorted(set(env) - allowed):
            problems.append(f"{_where(overlay, obj, container)}: {name} is read by no {service} code")
    assert not problems, "\n".join(problems)


def test_secrets_reach_only_the_containers_that_read_them(settings_runs):
    """In prod a secret variable is set only where the settings (or the code beside them) read it.
    (Dev keeps the base's references to secrets its settings skip, e.g. the registry credentials
    with REGISTRY_BACKEND=database, and generates placeholders for them.)"""
    problems = []
    for overlay, obj, container, _env, secrets, _settings, asked in settings_runs:
        if overlay != "prod":
            continue
        service, component = _service(obj), _component(obj)
        elsewhere = set().union(
            *(names for (s, c), names in READ_ELSEWHERE.items() if s in ("*", service) and c in ("*", component))
        )
        for name in sorted(secrets - asked - elsewhere):
            problems.append(f"{_where(overlay, obj, container)}: secret {name} is not read by this process")
    assert not problems, "\n".join(problems)


def test_the_notify_worker_can_open_sealed_fields(settings_runs):
    from mai_chassis.sealing import Sealer

    checked = 0
    for _overlay, obj, _container, env, *_ in settings_runs:
        if (_service(obj), _component(obj)) == ("notify-svc", "worker"):
            with mock.patch.object(os, "environ", dict(env)):
                Sealer.from_env()  # what the delivery loops do at start
            checked += 1
    assert checked == len(OVERLAYS)


def test_web_pods_write_only_to_volumes(rendered, settings_runs):
    """The root filesystem is read-only: every directory a web process writes is a volume; the
    stores shared by all web pods are ReadWriteMany claims."""
    claims = {
        overlay: {c["metadata"]["name"]: c for c in of_kind(rendered[overlay], "PersistentVolumeClaim")}
        for overlay in OVERLAYS
    }
    problems = []
    for overlay, obj, container, env, _secrets, settings, _asked in settings_runs:
        if _component(obj) != "web" or isinstance(settings, Exception):
            continue
        spec = pod_spec(obj)
        shared: list[tuple[str, str]] = []
        scratch: list[tuple[str, str]] = [("PROMETHEUS_MULTIPROC_DIR", env.get("PROMETHEUS_MULTIPROC_DIR", ""))]
        if hasattr(settings, "certificates_dir"):
            shared.append(("CERTIFICATES_DIR", settings.certificates_dir))
            if not settings.signing_configured:
                scratch.append(("SIGNING_DIR", settings.development_signing_dir))
        if hasattr(settings, "attachments_dir"):
            shared.append(("ATTACHMENTS_DIR", settings.attachments_dir))
        if getattr(settings, "document_store", None) == "filesystem":
            shared.append(("DOCUMENTS_DIR", settings.documents_dir))
        for name, path in scratch + shared:
            where = f"{_where(overlay, obj, container)}: {name}={path!r}"
            mount = _volume_under(spec, container, path) if path.startswith("/") else None
            if mount is None:
                problems.append(f"{where} is not on a mounted volume (the root filesystem is read-only)")
                continue
            _path, volume, read_only = mount
            if read_only or not ({"emptyDir", "persistentVolumeClaim"} & set(volume)):
                problems.append(f"{where} is on a volume that cannot be written")
            elif (name, path) in shared:
                claim = claims[overlay].get(volume.get("persistentVolumeClaim", {}).get("claimName"))
                if claim is None or "ReadWriteMany" not in claim["spec"]["accessModes"]:
                    problems.append(f"{where} must be a ReadWriteMany claim shared by every web pod")
    assert not problems, "\n".join(problems)


def test_signing_files_are_mounted_from_their_secret(rendered, settings_runs):
    problems = []
    for overlay, obj, container, _env, _secrets, settings, _asked in settings_runs:
        if _component(obj) != "web" or not getattr(settings, "signing_configured", False):
            continue
        spec = pod_spec(obj)
        for path in (settings.signing_key_file, settings.signing_cert_file, settings.signing_chain_file):
            mount = _volume_under(spec, container, path)
            if mount is None or "secret" not in mount[1]:
                problems.append(f"{_where(overlay, obj, container)}: {path} is not in a mounted Secret")
    assert not problems, "\n".join(problems)


def _secret_references(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Secret name -> keys referenced by env (keys of a mounted whole Secret are not known here)."""
    references: dict[str, set[str]] = defaultdict(set)
    for obj in objects:
        if obj["kind"] == "Cluster":  # CloudNativePG's backups to the object store
            credentials = obj["spec"].get("backup", {}).get("barmanObjectStore", {}).get("s3Credentials", {})
            for ref in credentials.values():
                references[ref["name"]].add(ref["key"])
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in spec.get("initContainers", []) + spec["containers"]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    references[ref["name"]].add(ref["key"])
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                references[volume["secret"]["secretName"]].update(i["key"] for i in volume["secret"].get("items", []))
    return references


def test_dev_generates_every_referenced_secret_key(rendered):
    secrets = {s["metadata"]["name"]: s for s in of_kind(rendered["dev"], "Secret")}
    problems = []
    for name, keys in sorted(_secret_references(rendered["dev"]).items()):
        if _operator_made(name, rendered["dev"]):
            continue
        if name not in secrets:
            problems.append(f"dev: Secret {name} is referenced but not generated")
            continue
        data = set(secrets[name].get("data", {})) | set(secrets[name].get("stringData", {}))
        problems += [f"dev: Secret {name} lacks key {key}" for key in sorted(keys - data)]
    assert not problems, "\n".join(problems)


def test_readme_lists_every_secret_prod_needs(rendered):
    """The README's Secret table names each Secret prod references, with each key read by env."""
    readme = (K8S_DIR / "README.md").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in readme.splitlines():
        match = re.match(r"^\| `([a-z0-9.<>-]+)` \| (.*?) \|", line)
        if match:
            table[match.group(1)] = match.group(2)
    problems = []
    for name, keys in sorted(_secret_references(rendered["prod"]).items()):
        if _operator_made(name, rendered["prod"]):
            continue
        if name not in table:
            problems.append(f"README: Secret {name} missing from the table")
            continue
        problems += [f"README: key {key} of {name} not listed" for key in sorted(keys) if f"`{key}`" not in table[name]]
    referenced = set(_secret_references(rendered["prod"]))
    for name in table:
        if "<" not in name and name != "gateway-tls" and name not in referenced:
            problems.append(f"README: Secret {name} is listed but referenced by nothing")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_a_command_its_service_has(rendered, overlay):
    """``command`` is the service's console script; ``args`` parse as one of its commands."""
    for obj, container in _containers(rendered[overlay]):
        service = _service(obj)
        script = "gateway" if service == "gateway" else service
        assert container.get("command") == [script], _where(overlay, obj, container)
        args = container.get("args", [])
        assert args, _where(overlay, obj, container)
        if args[0] in ("web", "worker", "migrate"):
            continue
        definition = importlib.import_module(f"{PACKAGES[service]}.service").definition
        commands = {c.name: c for c in definition.commands}
        assert args[0] in commands, f"{_where(overlay, obj, container)}: {service} has no command {args[0]}"
        commands[args[0]].make_context(args[0], list(args[1:]))  # raises on an unknown or invalid option


def test_the_notifications_purge_runs_daily_and_alone(rendered):
    for overlay in OVERLAYS:
        (cron,) = [c for c in of_kind(rendered[overlay], "CronJob") if _service(c) == "notify-svc"]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
        assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()
        assert pod_template(cron)["spec"]["containers"][0]["args"] == ["purge"]


def test_every_service_with_a_database_purges_what_outlived_its_retention_nightly_and_alone(rendered):
    """`<service> purge` (docs/data-retention.md): a nightly CronJob each, never two runs at once."""
    for overlay in OVERLAYS:
        purges = {_service(c): c for c in of_kind(rendered[overlay], "CronJob") if _component(c) == "purge"}
        assert set(purges) == {"petition-svc", "identity-svc", "record-svc", "booking-svc", "notify-svc"}, overlay
        for service, cron in purges.items():
            assert cron["spec"]["concurrencyPolicy"] == "Forbid", service
            minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
            assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit(), service
            container = pod_template(cron)["spec"]["containers"][0]
            assert (container["command"], container["args"]) == ([service], ["purge"]), service


def test_the_appointment_slots_are_kept_generated_hourly_and_alone(rendered):
    for overlay in OVERLAYS:
        (cron,) = [
            c
            for c in of_kind(rendered[overlay], "CronJob")
            if _service(c) == "booking-svc" and _component(c) == "slots"
        ]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
        assert minute.isdigit() and (hour, day, month, weekday) == ("*", "*", "*", "*")
        args = pod_template(cron)["spec"]["containers"][0]["args"]
        assert args[0] == "generate-slots" and any(arg.startswith("--weeks=") for arg in args)


def test_the_signing_keys_rotate_monthly_and_alone(rendered):
    for overlay in OVERLAYS:
        (cron,) = [
            c
            for c in of_kind(rendered[overlay], "CronJob")
            if _service(c) == "identity-svc" and _component(c) == "rotate-keys"
        ]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
        assert minute.isdigit() and hour.isdigit() and day.isdigit() and (month, weekday) == ("*", "*")
        assert pod_template(cron)["spec"]["containers"][0]["args"] == ["rotate-keys"]


def test_the_checker_refuses_what_the_services_refuse():
    """The checks above would catch the known mistakes: an S3 certificate store, a missing key."""
    base = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql+psycopg://u:p@h/d",
        "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "IDENTITY_URL": "http://identity-svc", "REGISTRY_HASH_KEY": dummy("REGISTRY_HASH_KEY"),
        "REGISTRY_URL": "https://r.invalid", "REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p",
        "SIGNING_KEY_FILE": "/k.pem", "SIGNING_CERT_FILE": "/c.pem",
    }  # fmt: skip
    build_settings("record-svc", base)
    from mai_chassis import ConfigurationError

    with pytest.raises(ConfigurationError, match="STORAGE_BACKEND"):
        build_settings("record-svc", {**base, "STORAGE_BACKEND": "s3"})
    with pytest.raises(ConfigurationError, match="REGISTRY_HASH_KEY"):
        build_settings("record-svc", {k: v for k, v in base.items() if k != "REGISTRY_HASH_KEY"})
    test_provider = {
        "EID_PROVIDERS": "bank-card",
        "EID_BANK_CARD_ISSUER": "https://eid-provider.dev.mai.internal",
        "EID_BANK_CARD_CLIENT_ID": "c",
        "EID_BANK_CARD_CLIENT_SECRET": "s",
        "EID_BANK_CARD_REDIRECT_URIS": "https://eservicii.mai.gov.ro/account/verification/callback",
        "EID_BANK_CARD_TEST_PROVIDER": "true",
    }
    with pytest.raises(ConfigurationError, match="test identification provider"):
        keys = {"IDENTITY_ENCRYPTION_KEYS": _FERNET, "EVENT_SEALING_KEYS": _FERNET}
        build_settings("identity-svc", {**base, **keys, **test_provider})
