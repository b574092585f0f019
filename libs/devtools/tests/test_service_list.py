"""deploy/services.yaml: the files written from it are up to date, and a mistake in it is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from mai_devtools.deploy_files import generated_files, main, stale_files
from mai_devtools.local_platform import Platform
from mai_devtools.service_list import ServiceListError, load_service_list, repository_root, service_list

ROOT = repository_root()
DECLARATION = ROOT / "deploy" / "services.yaml"

#: What a newcomer adds for a new front end (docs/service-list.md): one entry.
KIOSK = {
    "name": "kiosk-svc",
    "package": "kiosk",
    "kind": "front-end",
    "database": "kiosk",
    "ports": {"web": 8118},
    "worker": False,
    "routes": [{"prefix": "/kiosk", "timeout_seconds": 30, "rate_limit": "120/minute"}],
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
    path = _declaration_with(tmp_path, lambda d: d["services"].append(KIOSK))
    monkeypatch.setenv("MAI_SERVICES_FILE", str(path))
    service_list.cache_clear()
    try:
        assert main(["check"]) == 1
    finally:
        service_list.cache_clear()

    assert "deploy/local/Procfile is stale" in capsys.readouterr().err


def test_adding_a_front_end_is_one_entry_everywhere(tmp_path: Path, monkeypatch) -> None:
    listed = load_service_list(_declaration_with(tmp_path, lambda d: d["services"].append(KIOSK)))

    files = {str(path): text for path, text in generated_files(listed).items()}

    assert (
        "kiosk-web: env TRUSTED_PROXY_HOPS=1 PORT=8118 DATABASE_URL=$PG_BASE/kiosk API_BASE_URL="
        in (files["deploy/local/Procfile"])
    )
    assert "kiosk-worker" not in files["deploy/local/Procfile"]
    assert "kiosk-svc kiosk 8118 -" in files["deploy/local/services.sh"]
    local_routes = yaml.safe_load(files["gateway/routes.local.yaml"])["routes"]
    assert {"prefix": "/kiosk", "upstream": "http://127.0.0.1:8118", "service": "kiosk-svc"}.items() <= (
        next(r for r in local_routes if r["prefix"] == "/kiosk").items()
    )
    k8s_routes = yaml.safe_load(files["deploy/k8s/base/gateway/routes.yaml"])["routes"]
    assert [r["upstream"] for r in k8s_routes if r["prefix"] == "/kiosk"] == ["http://kiosk-svc"]
    gateway = yaml.safe_load(files["deploy/k8s/base/gateway/network-policy.yaml"])["spec"]
    assert "kiosk-svc" in gateway["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert {"app.kubernetes.io/name": "kiosk-svc", "app.kubernetes.io/component": "web"} in [
        peer.get("podSelector", {}).get("matchLabels") for rule in gateway["ingress"] for peer in rule["from"]
    ]
    policies = list(yaml.safe_load_all(files["deploy/k8s/base/services/kiosk-svc/network-policy.yaml"]))
    assert [p["metadata"]["name"] for p in policies] == [
        "kiosk-svc-web",
        "kiosk-svc-migrate",
        "kiosk-svc-db-clients",
    ]
    assert "kiosk-svc" in files["deploy/images/services.conf"]

    # The end-to-end tests' platform takes it by name, as a web process that calls the API through the
    # gateway's internal listener.
    monkeypatch.setenv("MAI_SERVICES_FILE", str(listed.path))
    service_list.cache_clear()
    try:
        platform = Platform(
            kafka_bootstrap_servers="127.0.0.1:9", database_urls={"kiosk": "sqlite://"}, smtp_port=25,
            services=["kiosk"], workdir=tmp_path,
        )  # fmt: skip
        assert platform._service_env("kiosk")["API_BASE_URL"] == platform.gateway_internal_url
        assert "prefix: /kiosk" in platform._routes_file().read_text()
    finally:
        service_list.cache_clear()


def test_a_front_end_on_its_own_host_is_routed_locally_only_and_reached_from_the_ingress() -> None:
    files = {str(path): text for path, text in generated_files(service_list()).items()}

    local_routes = yaml.safe_load(files["gateway/routes.local.yaml"])["routes"]
    staff = next(r for r in local_routes if r["prefix"] == "/staff")
    assert (staff["service"], staff["pages"]) == ("console-svc", True)
    k8s_routes = yaml.safe_load(files["deploy/k8s/base/gateway/routes.yaml"])["routes"]
    assert "console-svc" not in {r["service"] for r in k8s_routes}
    gateway = yaml.safe_load(files["deploy/k8s/base/gateway/network-policy.yaml"])["spec"]
    assert "console-svc" not in gateway["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"]
    web = next(iter(yaml.safe_load_all(files["deploy/k8s/base/services/console-svc/network-policy.yaml"])))
    assert web["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


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
