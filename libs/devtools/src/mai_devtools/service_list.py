"""The platform's list of services and routes (deploy/services.yaml), loaded and checked.

The one declaration of which services exist, their local ports, databases, workers and gateway
routes. The devtools :class:`~mai_devtools.platform.Platform` and the test lists read it at run
time; :mod:`mai_devtools.deploy_files` writes the Procfile, the route tables and the network
policies from it. A mistake in the file (an unknown key, a port or prefix used twice, a call to a
service that is not declared) stops the loader with the entry and the reason.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

__all__ = [
    "DECLARATION",
    "Route",
    "Service",
    "ServiceList",
    "ServiceListError",
    "find_declaration",
    "load_service_list",
    "repository_root",
    "service_list",
]

#: Where the declaration sits in the repository.
DECLARATION: Final = Path("deploy") / "services.yaml"
#: Names another file than the repository's (for a test of this loader, or an installed copy).
ENVIRONMENT_VARIABLE: Final = "MAI_SERVICES_FILE"

Kind = Literal["api", "front-end"]
KINDS: Final = ("api", "front-end")
#: The processes of a service that may reach ports outside the cluster.
PROCESSES: Final = ("web", "worker")
ROUTE_LIMITS: Final = ("connect_timeout_seconds", "timeout_seconds", "max_body_bytes", "rate_limit", "methods")

_SERVICE_KEYS: Final = frozenset(
    {"name", "package", "kind", "database", "ports", "worker", "calls", "external", "jobs", "local", "image", "routes"}
)
_REQUIRED_SERVICE_KEYS: Final = ("name", "package", "kind", "database", "ports", "worker", "routes")
_ROUTE_KEYS: Final = frozenset({"prefix", "why", *ROUTE_LIMITS})


class ServiceListError(ValueError):
    """deploy/services.yaml cannot be read or declares something inconsistent."""


@dataclass(frozen=True)
class Route:
    """One gateway route of a service: a public path prefix and its limits (defaults filled in)."""

    prefix: str
    limits: Mapping[str, Any]
    #: Why the limits are what they are; written as a comment above the route.
    why: str | None = None


@dataclass(frozen=True)
class Service:
    """One service of the platform as deploy/services.yaml declares it."""

    name: str
    package: str
    kind: Kind
    database: str
    web_port: int
    metrics_port: int | None
    worker: bool
    routes: tuple[Route, ...]
    calls: tuple[str, ...] = ()
    external: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    jobs: tuple[str, ...] = ()
    local_processes: Mapping[str, str] = field(default_factory=dict)
    image_build_args: Mapping[str, str] = field(default_factory=dict)

    @property
    def short_name(self) -> str:
        """The name without ``-svc``: the Platform's and the Procfile's (``petition``)."""
        return self.name.removesuffix("-svc")

    @property
    def front_end(self) -> bool:
        return self.kind == "front-end"

    @property
    def command(self) -> str:
        """Its console script: ``<name> web|worker|migrate``."""
        return self.name


@dataclass(frozen=True)
class ServiceList:
    """Every service in declaration order, the gateway's local port and route defaults."""

    services: tuple[Service, ...]
    gateway_port: int
    route_defaults: Mapping[str, Any]
    #: `make run`'s processes that are no service of the list (the SMTP sink, analytics ...).
    local_processes: Mapping[str, str]
    path: Path

    def __iter__(self) -> Any:
        return iter(self.services)

    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def named(self, name: str) -> Service:
        """The service called ``name`` (``petition-svc``) or ``short name`` (``petition``)."""
        for service in self.services:
            if name in (service.name, service.short_name):
                return service
        raise KeyError(f"no service {name!r} in {self.path}")

    @property
    def apis(self) -> tuple[Service, ...]:
        """The services behind the public API, with their events (kind ``api``)."""
        return tuple(s for s in self.services if s.kind == "api")

    @property
    def front_ends(self) -> tuple[Service, ...]:
        """The web front ends (kind ``front-end``): pages that call the API through the gateway."""
        return tuple(s for s in self.services if s.front_end)

    def callers_of(self, name: str) -> tuple[Service, ...]:
        """The services that call ``name``'s web process directly."""
        return tuple(s for s in self.services if name in s.calls)

    def routes(self) -> list[tuple[Service, Route]]:
        """Every route in declaration order, with its service."""
        return [(service, route) for service in self.services for route in service.routes]


def repository_root() -> Path:
    """The checkout this package is installed from (editable), else the working directory's."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for directory in (start, *start.parents):
            if (directory / DECLARATION).is_file():
                return directory
    raise ServiceListError(f"{DECLARATION} not found above {Path(__file__).resolve()} nor {Path.cwd()}")


def find_declaration() -> Path:
    named = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(named) if named else repository_root() / DECLARATION


@functools.cache
def service_list() -> ServiceList:
    """The repository's list (loaded once)."""
    return load_service_list(find_declaration())


def load_service_list(path: Path) -> ServiceList:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ServiceListError(f"{path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise ServiceListError(f"{path}: expected a mapping with a 'services' list")
    unknown = sorted(set(document) - {"gateway", "services", "local_processes"})
    if unknown:
        raise ServiceListError(f"{path}: unknown keys {unknown}")
    gateway = document.get("gateway") or {}
    defaults = dict(gateway.get("route_defaults") or {})
    if set(defaults) != set(ROUTE_LIMITS):
        raise ServiceListError(f"{path}: gateway.route_defaults must set exactly {list(ROUTE_LIMITS)}")
    services = tuple(_service(entry, index, defaults, path) for index, entry in enumerate(document["services"]))
    listed = ServiceList(
        services=services,
        gateway_port=_port(gateway.get("port"), f"{path}: gateway.port"),
        route_defaults=defaults,
        local_processes={str(k): str(v) for k, v in (document.get("local_processes") or {}).items()},
        path=path,
    )
    _check_consistency(listed)
    return listed


def _service(entry: Any, index: int, defaults: Mapping[str, Any], path: Path) -> Service:
    where = f"{path}: services[{index}]"
    if not isinstance(entry, dict):
        raise ServiceListError(f"{where}: expected a mapping")
    where = f"{path}: service {entry.get('name', index)!r}"
    missing = [k for k in _REQUIRED_SERVICE_KEYS if k not in entry]
    unknown = sorted(set(entry) - _SERVICE_KEYS)
    if missing or unknown:
        raise ServiceListError(f"{where}: missing keys {missing}, unknown keys {unknown}")
    name = str(entry["name"])
    if not name.endswith("-svc"):
        raise ServiceListError(f"{where}: a service's name ends with -svc")
    if entry["kind"] not in KINDS:
        raise ServiceListError(f"{where}: kind must be one of {list(KINDS)}")
    ports = entry["ports"] or {}
    if not isinstance(ports, dict) or "web" not in ports or set(ports) - {"web", "metrics"}:
        raise ServiceListError(f"{where}: ports must name web (and metrics, with a worker)")
    worker = entry["worker"]
    if not isinstance(worker, bool):
        raise ServiceListError(f"{where}: worker is true or false")
    if worker != ("metrics" in ports):
        raise ServiceListError(f"{where}: a worker needs ports.metrics, and only a worker has one")
    external = entry.get("external") or {}
    if set(external) - set(PROCESSES):
        raise ServiceListError(f"{where}: external ports are per process: {list(PROCESSES)}")
    routes = entry["routes"] or []
    if not routes:
        raise ServiceListError(f"{where}: at least one route")
    return Service(
        name=name,
        package=str(entry["package"]),
        kind=entry["kind"],
        database=str(entry["database"]),
        web_port=_port(ports["web"], f"{where}: ports.web"),
        metrics_port=_port(ports["metrics"], f"{where}: ports.metrics") if worker else None,
        worker=worker,
        routes=tuple(_route(route, f"{where}: routes[{i}]", defaults) for i, route in enumerate(routes)),
        calls=tuple(str(c) for c in entry.get("calls") or ()),
        external={p: tuple(_port(n, f"{where}: external.{p}") for n in ns) for p, ns in external.items()},
        jobs=tuple(str(j) for j in entry.get("jobs") or ()),
        local_processes={str(k): str(v) for k, v in (entry.get("local") or {}).items()},
        image_build_args={str(k): str(v) for k, v in (entry.get("image") or {}).items()},
    )


def _route(entry: Any, where: str, defaults: Mapping[str, Any]) -> Route:
    if not isinstance(entry, dict) or "prefix" not in entry:
        raise ServiceListError(f"{where}: expected a mapping with a prefix")
    unknown = sorted(set(entry) - _ROUTE_KEYS)
    if unknown:
        raise ServiceListError(f"{where}: unknown keys {unknown}")
    prefix = str(entry["prefix"])
    if not prefix.startswith("/"):
        raise ServiceListError(f"{where}: a prefix starts with /")
    limits = {key: entry.get(key, defaults[key]) for key in ROUTE_LIMITS}
    return Route(prefix=prefix, limits=limits, why=entry.get("why"))


def _port(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ServiceListError(f"{where}: a TCP port (1-65535)")
    return value


def _check_consistency(listed: ServiceList) -> None:
    def once(values: list[Any], what: str) -> None:
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise ServiceListError(f"{listed.path}: {what} declared twice: {', '.join(twice)}")

    services = listed.services
    once([s.name for s in services], "services")
    once([s.package for s in services], "packages")
    once([s.database for s in services], "databases")
    ports = [listed.gateway_port] + [s.web_port for s in services]
    once(ports + [s.metrics_port for s in services if s.metrics_port is not None], "local ports")
    once([route.prefix for _, route in listed.routes()], "route prefixes")
    once([*listed.local_processes, *(f"{s.short_name}-{p}" for s in services for p in s.local_processes)], "processes")
    names = set(listed.names())
    for service in services:
        unknown = sorted(set(service.calls) - names)
        if unknown:
            raise ServiceListError(f"{listed.path}: {service.name} calls undeclared services {unknown}")
