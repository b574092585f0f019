"""deploy/services.yaml: the files written from it are up to date, and a mistake in it is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from mai_devtools.deploy_files import generated_files, main, stale_files
from mai_devtools.platform import Platform
from mai_devtools.service_list import ServiceListError, load_service_list, repository_root, service_list

ROOT = repository_root()
DECLARATION = ROOT / "deploy" / "services.yaml"

#: What a newcomer adds for the staff console (docs/service-list.md): one entry.
CONSOLE = {
    "name": "console-svc",
    "package": "console",
    "kind": "front-end",
    "database": "console",
    "ports": {"web": 8107},
    "worker": False,
    "routes": [{"prefix": "/staff", "timeout_seconds": 30, "rate_limit": "120/minute"}],
}


def _declaration_with(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_every_generated_file_is_what_the_declaration_gives() -> None:
    stale = stale_files(ROOT, service_list())

    assert stale == [], f"stale: {[str(p) for p in stale]}; run `make generated`"


def test_the_check_command_names_a_stale_file(tmp_path: Path, monkeypatch, capsys) -> None:
    path = _declaration_with(tmp_path, lambda d: d["services"].append(CONSOLE))
    monkeypatch.setenv("MAI_SERVICES_FILE", str(path))
    service_list.cache_clear()
    try:
        assert main(["check"]) == 1
    finally:
        service_list.cache_clear()

    assert "deploy/local/Procfile is stale" in capsys.readouterr().err


def test_adding_a_front_end_is_one_entry_everywhere(tmp_path: Path, monkeypatch) -> None:
    listed = load_service_list(_declaration_with(tmp_path, lambda d: d["services"].append(CONSOLE)))

    files = {str(path): text for path, text in generated_files(listed).items()}

    assert (
        "console-web: env TRUSTED_PROXY_HOPS=1 PORT=8107 DATABASE_URL=$PG_BASE/console API_BASE_URL="
        in (files["deploy/local/Procfile"])
    )
    assert "console-worker" not in files["deploy/local/Procfile"]
    assert "console-svc console 8107 -" in files["deploy/local/services.sh"]
    local_routes = yaml.safe_load(files["gateway/routes.local.yaml"])["routes"]
    assert {"prefix": "/staff", "upstream": "http://127.0.0.1:8107", "service": "console-svc"}.items() <= (
        next(r for r in local_routes if r["prefix"] == "/staff").items()
    )
    k8s_routes = yaml.safe_load(files["deploy/k8s/base/gateway/routes.yaml"])["routes"]
    assert [r["upstream"] for r in k8s_routes if r["prefix"] == "/staff"] == ["http://console-svc"]
    gateway = yaml.safe_load(files["deploy/k8s/base/gateway/network-policy.yaml"])["spec"]
    assert "console-svc" in gateway["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert {"app.kubernetes.io/name": "console-svc", "app.kubernetes.io/component": "web"} in [
        peer.get("podSelector", {}).get("matchLabels") for rule in gateway["ingress"] for peer in rule["from"]
    ]
    policies = list(yaml.safe_load_all(files["deploy/k8s/base/services/console-svc/network-policy.yaml"]))
    assert [p["metadata"]["name"] for p in policies] == [
        "console-svc-web",
        "console-svc-migrate",
        "console-svc-db-clients",
    ]
    assert "console-svc" in files["deploy/images/services.conf"]

    # The end-to-end tests' platform takes it by name, as a web process that calls the API through the gateway.
    monkeypatch.setenv("MAI_SERVICES_FILE", str(listed.path))
    service_list.cache_clear()
    try:
        platform = Platform(
            kafka_bootstrap_servers="127.0.0.1:9", database_urls={"console": "sqlite://"}, smtp_port=25,
            services=["console"], workdir=tmp_path,
        )  # fmt: skip
        assert platform._service_env("console")["API_BASE_URL"] == platform.gateway_url
        assert "prefix: /staff" in platform._routes_file().read_text()
    finally:
        service_list.cache_clear()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["services"][0].update(colour="blue"), "unknown keys"),
        (lambda d: d["services"][1]["ports"].update(web=8101), "local ports declared twice: 8101"),
        (lambda d: d["services"][1]["routes"].append({"prefix": "/api/v1/faq"}), "route prefixes declared twice"),
        (lambda d: d["services"][0].update(calls=["ledger-svc"]), "calls undeclared services"),
        (lambda d: d["services"][0].update(worker=False), "a worker needs ports.metrics"),
        (lambda d: d["services"][0].update(kind="batch"), "kind must be one of"),
        (lambda d: d["services"][0].update(name="petition"), "ends with -svc"),
        (lambda d: d["services"][0]["routes"][0].update(limit="1/s"), "unknown keys"),
    ],
)
def test_a_mistake_in_the_declaration_is_refused_with_the_reason(tmp_path: Path, change: Any, complaint: str) -> None:
    with pytest.raises(ServiceListError, match=complaint):
        load_service_list(_declaration_with(tmp_path, change))


def test_the_platform_refuses_a_service_it_does_not_know() -> None:
    with pytest.raises(ValueError, match=r"not in .*services\.yaml: consle"):
        Platform(kafka_bootstrap_servers="127.0.0.1:9", database_urls={}, smtp_port=25, services=["consle"])


def test_the_contracts_know_every_api_service_as_an_event_owner_or_consumer() -> None:
    from mai_contracts._topics import SERVICES

    assert set(SERVICES) == {s.name for s in service_list().apis}


def test_every_api_service_may_reach_the_kafka_brokers() -> None:
    # Strimzi writes the brokers' NetworkPolicy from these peers (deploy/k8s/base/kafka/kafka.yaml).
    kafka = next(
        d
        for d in yaml.safe_load_all((ROOT / "deploy/k8s/base/kafka/kafka.yaml").read_text(encoding="utf-8"))
        if d and d.get("kind") == "Kafka"
    )
    (listener,) = [entry for entry in kafka["spec"]["kafka"]["listeners"] if entry["type"] == "internal"]
    allowed = {
        name
        for peer in listener["networkPolicyPeers"]
        for expression in peer.get("podSelector", {}).get("matchExpressions", [])
        if expression["key"] == "app.kubernetes.io/name"
        for name in expression["values"]
    }

    assert {s.name for s in service_list().apis} <= allowed
