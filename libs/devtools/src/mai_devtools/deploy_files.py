"""The files written from deploy/services.yaml: `make run`'s, the gateway's and Kubernetes' network policies.

    mai-services write     rewrite every file (what `make generated` runs)
    mai-services check     exit 1 naming each stale file (the drift test does the same)
    mai-services list      the services' names, one a line (``--kind api``, ``--field database`` ...)

Every file starts with a GENERATED line; edit deploy/services.yaml and run `make generated`.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import yaml

from mai_devtools.service_list import DECLARATION, Route, Service, ServiceList, repository_root, service_list

__all__ = ["generated_files", "main", "stale_files"]

#: The local OpenID Connect provider's address (the Procfile's eid-provider process); the front
#: ends' forms send the browser there.
EID_PROVIDER_URL: Final = "http://127.0.0.1:9400"
KAFKA_CLUSTER: Final = "mai-kafka"
#: In-cluster ports: every web process serves on 8080, every worker's metrics on 9090.
WEB_PORT: Final = 8080
METRICS_PORT: Final = 9090
#: The gateway's internal listener in the cluster (Service gateway-internal): the front ends' API calls.
GATEWAY_INTERNAL_PORT: Final = 8081
#: The monitoring namespace's Prometheus Pushgateway, where the purge jobs push their outcome.
PUSHGATEWAY_PORT: Final = 9091

_GENERATED = "GENERATED from deploy/services.yaml by `make generated` (mai_devtools.deploy_files): do not edit."


def generated_files(listed: ServiceList) -> dict[Path, str]:
    """Every written file (relative to the repository) and its text."""
    files = {
        Path("deploy/local/Procfile"): procfile(listed),
        Path("deploy/local/services.sh"): local_services_sh(listed),
        Path("deploy/images/services.conf"): images_conf(listed),
        Path("gateway/routes.local.yaml"): route_table(listed, local=True),
        Path("deploy/k8s/base/gateway/routes.yaml"): route_table(listed, local=False),
        Path("deploy/k8s/base/gateway/network-policy.yaml"): gateway_network_policy(listed),
    }
    for service in listed:
        files[Path(f"deploy/k8s/base/services/{service.name}/network-policy.yaml")] = service_network_policies(
            listed, service
        )
    return files


def stale_files(root: Path, listed: ServiceList) -> list[Path]:
    """The generated files whose committed text differs from a fresh generation."""
    stale = []
    for relative, text in generated_files(listed).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
    return stale


# -- make run ----------------------------------------------------------------------------------


def _kafka_user(name: str) -> str:
    """The Kafka user settings a process of ``name`` runs with (its password exported by run.sh), if it has one."""
    import mai_contracts

    if name not in {user.name for user in mai_contracts.kafka_users()}:
        return ""
    variable = "KAFKA_PASSWORD_" + name.replace("-", "_").upper()
    return f"KAFKA_SASL_USERNAME={name} KAFKA_SASL_PASSWORD=${variable} "


def _as_user(name: str, command: str) -> str:
    user = _kafka_user(name)
    if not user:
        return command
    return f"env {user}{command.removeprefix('env ')}"


def procfile(listed: ServiceList) -> str:
    lines = [f"# {_GENERATED}"]
    lines += [f"{name}: {_as_user(name, command)}" for name, command in listed.local_processes.items()]
    lines.append(
        f"gateway: env PORT={listed.gateway_port} GATEWAY_INTERNAL_PORT={listed.gateway_internal_port} "
        "GATEWAY_ROUTES_FILE=gateway/routes.local.yaml GATEWAY_TRUSTED_PROXY_NETWORKS=127.0.0.1/32 "
        ".venv/bin/gateway web"
    )
    for service in listed:
        database = f"DATABASE_URL=$PG_BASE/{service.database}"
        web_env = f"TRUSTED_PROXY_HOPS=1 PORT={service.web_port} {database}"
        if service.front_end:
            # Pages call the API through the gateway's internal listener; the session cookie travels
            # over plain HTTP here.
            web_env += (
                f" API_BASE_URL=http://127.0.0.1:{listed.gateway_internal_port} SESSION_COOKIE_SECURE=false"
                f" FORM_ACTION_ORIGINS={EID_PROVIDER_URL}"
            )
        # Every process of a service that talks to Kafka runs as the service's own broker user.
        user = _kafka_user(service.name)
        lines.append(f"{service.short_name}-web: env {user}{web_env} .venv/bin/{service.command} web")
        if service.worker:
            lines.append(
                f"{service.short_name}-worker: env {user}METRICS_PORT={service.metrics_port} {database} "
                f".venv/bin/{service.command} worker"
            )
        for name, command in service.local_processes.items():
            lines.append(f"{service.short_name}-{name}: env {user}{database} {command}")
    return "\n".join(lines) + "\n"


def local_services_sh(listed: ServiceList) -> str:
    rows = [
        f"{s.name} {s.database} {s.web_port} {s.metrics_port if s.metrics_port is not None else '-'}" for s in listed
    ]
    databases = " ".join(s.database for s in listed)
    return "\n".join(
        [
            f"# {_GENERATED}",
            "# The services of `make run` (run.sh) and their databases (infra.sh); sourced, not executed.",
            "# shellcheck shell=bash",
            "# shellcheck disable=SC2034",
            "",
            "# name database web-port worker-metrics-port (- for none), one service a line",
            "MAI_SERVICE_TABLE='" + "\n".join(rows) + "'",
            "# The database of each service (DESIGN.md: every service owns its data).",
            f"MAI_DATABASES=${{MAI_DATABASES:-{databases}}}",
            f"MAI_GATEWAY_PORT={listed.gateway_port}",
            f"MAI_GATEWAY_INTERNAL_PORT={listed.gateway_internal_port}",
            "",
        ]
    )


def images_conf(listed: ServiceList) -> str:
    lines = [
        f"# {_GENERATED}",
        "# The platform's images, one line each: `make images` builds every line from the one Dockerfile.",
        "# name          directory               build arguments (besides SERVICE, SERVICE_DIR, BASE_IMAGE)",
    ]
    rows = [(s.name, f"services/{s.name}", s.image_build_args) for s in listed] + [("gateway", "gateway", {})]
    for name, directory, arguments in rows:
        line = f"{name:<16}{directory:<24}" + " ".join(f"{k}={v}" for k, v in arguments.items())
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


# -- the gateway's route tables ----------------------------------------------------------------


def route_table(listed: ServiceList, *, local: bool) -> str:
    if local:
        lines = [
            f"# {_GENERATED}",
            "# Local route table of the gateway (deploy/local): every service on its loopback port.",
            "# Format and semantics: gateway/src/gateway/routes.py. Edited while running, it is reloaded.",
        ]
    else:
        lines = [
            f"# {_GENERATED}",
            "# Gateway route table: path prefix -> upstream Service, with per-route limits.",
            "# The gateway picks the longest matching prefix. timeout_seconds bounds the upstream call,",
            "# max_body_bytes the request body, rate_limit the requests per client (shared through Redis).",
        ]
    lines.append("defaults:")
    lines += [f"  {key}: {_scalar(value)}" for key, value in listed.route_defaults.items()]
    lines.append("routes:")
    for service, route in listed.routes():
        if service.own_host and not local:
            continue  # served by the ingress controller on its own host name
        if route.why:
            why = f"{route.why[0].upper()}{route.why[1:]}."
            lines += [f"  # {line}" for line in textwrap.wrap(why, width=96)]
        upstream = f"http://127.0.0.1:{service.web_port}" if local else f"http://{service.name}"
        lines += [f"  - prefix: {route.prefix}", f"    upstream: {upstream}", f"    service: {service.name}"]
        if route.pages:
            lines.append("    pages: true")
        lines += [f"    {key}: {_scalar(value)}" for key, value in _route_limits(listed, route)]
    return "\n".join(lines) + "\n"


def _route_limits(listed: ServiceList, route: Route) -> Iterable[tuple[str, Any]]:
    """Timeout, body and rate always (a reader sees them at a glance), the rest where not the default."""
    for key, value in route.limits.items():
        if key in ("timeout_seconds", "max_body_bytes", "rate_limit") or value != listed.route_defaults[key]:
            yield key, value


def _scalar(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


# -- Kubernetes NetworkPolicies ----------------------------------------------------------------


def _pods(name: str, *components: str) -> dict[str, Any]:
    if len(components) == 1:
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": components[0]}
        return {"podSelector": {"matchLabels": labels}}
    return {"podSelector": {"matchExpressions": _in_expressions([name], list(components))}}


def _in_expressions(names: list[str], components: list[str]) -> list[dict[str, Any]]:
    return [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": names},
        {"key": "app.kubernetes.io/component", "operator": "In", "values": components},
    ]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _database(service: Service) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{service.name}-db"}}}


def _policy(name: str, selector: dict[str, Any], ingress: list[Any] | None, egress: list[Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "podSelector": selector["podSelector"],
        "policyTypes": (["Ingress"] if ingress is not None else []) + ["Egress"],
    }
    if ingress is not None:
        spec["ingress"] = ingress
    spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


def service_network_policies(listed: ServiceList, service: Service) -> str:
    """One policy per component (web, worker, migrate, each job) and one for its database's clients."""
    gateway_web = _pods("gateway", "web")
    egress: list[dict[str, Any]] = [{"to": [_pods(called, "web")], "ports": _tcp(WEB_PORT)} for called in service.calls]
    if service.front_end:
        egress.append({"to": [gateway_web], "ports": _tcp(GATEWAY_INTERNAL_PORT)})
    else:
        kafka = {
            "podSelector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/broker-role": "true"}}
        }
        egress.append({"to": [kafka], "ports": _tcp(9092)})
    egress.append({"to": [_database(service)], "ports": _tcp(5432)})

    def process_egress(process: str) -> list[dict[str, Any]]:
        outside = service.external.get(process, ())
        return egress + ([{"ports": _tcp(*outside)}] if outside else [])

    page_source = _namespace("ingress-nginx") if service.own_host else gateway_web
    web_ingress: list[dict[str, Any]] = [{"from": [page_source], "ports": _tcp(WEB_PORT)}]
    callers = [s.name for s in listed.callers_of(service.name)]
    if callers:
        selector = {"podSelector": {"matchExpressions": _in_expressions(callers, ["web", "worker"])}}
        web_ingress.append({"from": [selector], "ports": _tcp(WEB_PORT)})
    web_ingress.append({"from": [_namespace("monitoring")], "ports": _tcp(WEB_PORT)})
    database_only = [{"to": [_database(service)], "ports": _tcp(5432)}]

    policies = [
        _policy(f"{service.name}-web", _pods(service.name, "web"), web_ingress, process_egress("web")),
    ]
    if service.worker:
        metrics = [{"from": [_namespace("monitoring")], "ports": _tcp(METRICS_PORT)}]
        policies.append(
            _policy(f"{service.name}-worker", _pods(service.name, "worker"), metrics, process_egress("worker"))
        )
    for component in ("migrate", *service.jobs):
        outside = service.external.get(component, ())
        job_egress = database_only + ([{"ports": _tcp(*outside)}] if outside else [])
        if component == "purge":  # it pushes its outcome to the Pushgateway (PUSHGATEWAY_URL)
            job_egress = [*job_egress, {"to": [_namespace("monitoring")], "ports": _tcp(PUSHGATEWAY_PORT)}]
        policies.append(_policy(f"{service.name}-{component}", _pods(service.name, component), None, job_egress))
    clients = ["web", *(["worker"] if service.worker else []), "migrate", *service.jobs]
    policies.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{service.name}-db-clients"},
            "spec": {
                "podSelector": _database(service)["podSelector"],
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_pods(service.name, *clients)], "ports": _tcp(5432)}],
            },
        }
    )
    header = [
        f"# {_GENERATED}",
        f"# {service.name}: who may talk to it and whom it may talk to (the namespace denies everything else).",
    ]
    if service.own_host:
        header.append("# A front end on its own host name: pages come from the ingress controller only (its Ingress")
        header.append("# admits only the ministry's networks), never from the gateway; every API call goes through")
        header.append("# the gateway's internal listener (Service gateway-internal).")
    elif service.front_end:
        header.append("# A front end: pages come from the gateway only, and every API call goes back through it")
        header.append("# (its internal listener, Service gateway-internal).")
    return _documents(header, policies)


def gateway_network_policy(listed: ServiceList) -> str:
    """The gateway: traffic from the ingress controller and the front ends, out to every service's web pods."""
    ingress: list[dict[str, Any]] = [{"from": [_namespace("ingress-nginx")], "ports": _tcp(WEB_PORT)}]
    ingress += [
        {"from": [_pods(front_end.name, "web")], "ports": _tcp(GATEWAY_INTERNAL_PORT)}
        for front_end in listed.front_ends
    ]
    ingress.append({"from": [_namespace("monitoring")], "ports": _tcp(WEB_PORT)})
    proxied = [service.name for service in listed if not service.own_host]
    upstreams = {"podSelector": {"matchExpressions": _in_expressions(proxied, ["web"])}}
    redis = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway-redis"}}}
    egress = [{"to": [upstreams], "ports": _tcp(WEB_PORT)}, {"to": [redis], "ports": _tcp(6379)}]
    header = [
        f"# {_GENERATED}",
        "# The gateway: the ingress controller (nobody else from outside the cluster) and the front ends,",
        "# whose pages call the API back through its internal listener, may reach it; it reaches every",
        "# service's web pods.",
    ]
    return _documents(header, [_policy("gateway-web", _pods("gateway", "web"), ingress, egress)])


def _documents(header: list[str], documents: list[dict[str, Any]]) -> str:
    # Copies: a selector used twice must be written out twice, not as a YAML alias.
    documents = [json.loads(json.dumps(document)) for document in documents]
    body = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, width=100)
    return "\n".join(header) + "\n---\n" + body


# -- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mai-services", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("write", help="rewrite every generated file")
    commands.add_parser("check", help="exit 1 when a generated file is stale")
    listing = commands.add_parser("list", help="print the services, one a line")
    listing.add_argument("--kind", choices=["api", "front-end"], help="only services of this kind")
    listing.add_argument("--field", default="name", help="the field to print (name, package, database ...)")
    args = parser.parse_args(argv)

    listed = service_list()
    root = repository_root()
    if args.command == "list":
        field: Callable[[Service], Any] = lambda s: getattr(s, args.field)  # noqa: E731
        for service in listed:
            if args.kind is None or service.kind == args.kind:
                print(field(service))
        return 0
    if args.command == "check":
        stale = stale_files(root, listed)
        for path in stale:
            sys.stderr.write(f"{path} is stale: edit {DECLARATION}, then run `make generated`\n")
        return 1 if stale else 0
    for relative, text in generated_files(listed).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            sys.stderr.write(f"wrote {relative}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
