"""The merged OpenAPI 3.1 document of every upstream, as citizens reach them through the gateway.

Each upstream's ``/openapi.json`` is fetched, kept, and asked again after ``refresh_seconds``.
A down upstream leaves its last known document in place (noted as stale), or, if it was never
reached, is left out with a note in ``x-gateway-upstreams``. Only paths the route table sends to
that upstream are kept, and every component name is prefixed with its service's namespace
(``PetitionSvc.Petition``) so that two services' ``Error`` schemas cannot clash.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from mai_chassis.openapi import add_platform_responses

from .routes import RouteTable

__all__ = ["HTTP_METHODS", "OpenApiCatalogue", "merge_documents", "namespace_of"]

logger = logging.getLogger(__name__)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_COMPONENT_SECTIONS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)
_REF = re.compile(r"^#/components/(?P<section>[A-Za-z]+)/(?P<name>.+)$")
FETCH_TIMEOUT_SECONDS = (1.0, 3.0)


def namespace_of(service: str) -> str:
    """``petition-svc`` -> ``PetitionSvc``; ``127.0.0.1:8101`` -> ``S127_0_0_1_8101``."""
    words = re.split(r"[^A-Za-z0-9]+", service)
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    return name if name[:1].isalpha() else f"S{'_'.join(w for w in words if w)}"


@dataclass
class _Fetched:
    document: dict[str, Any] | None = None
    fetched_at: float = 0.0  # wall clock of the last good fetch
    checked_at: float = float("-inf")  # monotonic time of the last attempt
    error: str | None = None


def _rename_refs(node: Any, renames: dict[tuple[str, str], str]) -> Any:
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                result[key] = _renamed_ref(value, renames)
            elif key == "mapping" and isinstance(value, dict):  # discriminator mapping values are refs
                result[key] = {k: _renamed_ref(v, renames) if isinstance(v, str) else v for k, v in value.items()}
            else:
                result[key] = _rename_refs(value, renames)
        return result
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _renamed_ref(ref: str, renames: dict[tuple[str, str], str]) -> str:
    match = _REF.match(ref)
    if match is None:
        return ref
    new_name = renames.get((match["section"], match["name"]))
    return f"#/components/{match['section']}/{new_name}" if new_name else ref


def _rename_security(requirements: Any, schemes: dict[str, str]) -> Any:
    if not isinstance(requirements, list):
        return requirements
    return [{schemes.get(name, name): scopes for name, scopes in req.items()} for req in requirements]


def merge_documents(
    documents: dict[str, dict[str, Any]],
    table: RouteTable,
    *,
    title: str,
    version: str,
    server_url: str,
    notes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Merge upstream documents (service -> document) into one, keeping only the routed paths."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every public operation of the MAI e-services, as reached through the gateway.",
        },
        "servers": [{"url": server_url}],
        "paths": {},
        "components": {},
        "tags": [],
        "x-gateway-upstreams": notes or {},
    }
    tag_names: set[str] = set()
    for service, original in sorted(documents.items()):
        namespace = namespace_of(service)
        components = original.get("components") or {}
        renames = {
            (section, name): f"{namespace}.{name}"
            for section in _COMPONENT_SECTIONS
            for name in (components.get(section) or {})
        }
        scheme_names = {name: f"{namespace}.{name}" for name in (components.get("securitySchemes") or {})}
        document = _rename_refs(original, renames)
        for section in _COMPONENT_SECTIONS:
            for name, value in (document.get("components", {}).get(section) or {}).items():
                merged["components"].setdefault(section, {})[f"{namespace}.{name}"] = value
        default_security = _rename_security(document.get("security"), scheme_names)
        for path, item in (document.get("paths") or {}).items():
            route = table.match(path.split("{", 1)[0].rstrip("/") or "/")
            if route is None or route.service != service:
                continue  # not reachable through the gateway (internal, health, or another owner's)
            if path in merged["paths"]:
                logger.warning("OpenAPI path %s is declared by more than one upstream; the first is kept", path)
                continue
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                if method.upper() not in route.methods and method not in ("head", "options"):
                    del item[method]
                    continue
                operation.setdefault("tags", [service])
                if "security" in operation:
                    operation["security"] = _rename_security(operation["security"], scheme_names)
                elif default_security is not None:
                    operation["security"] = default_security
                if "operationId" in operation:
                    operation["operationId"] = f"{namespace}.{operation['operationId']}"
            merged["paths"][path] = item
        for tag in document.get("tags") or []:
            if isinstance(tag, dict) and tag.get("name") not in tag_names:
                tag_names.add(tag["name"])
                merged["tags"].append(tag)
        if service not in tag_names:
            tag_names.add(service)
            merged["tags"].append({"name": service})
    merged["paths"] = dict(sorted(merged["paths"].items()))
    # What the chassis and the gateway answer everywhere (400, 401, 413, 429, 503 ...) is documented
    # on every operation, beside what each service wrote of its own rules.
    return add_platform_responses(merged)


class OpenApiCatalogue:
    """Fetches and keeps each upstream's OpenAPI document; builds the merged one on demand."""

    def __init__(
        self,
        routes: Callable[[], RouteTable],
        *,
        session_for: Callable[[str], requests.Session],
        refresh_seconds: float,
        server_url: str,
        version: str = "1",
    ) -> None:
        self._routes = routes
        self._session_for = session_for
        self.refresh_seconds = refresh_seconds
        self.server_url = server_url
        self.version = version
        self._fetched: dict[str, _Fetched] = {}
        self._lock = threading.Lock()

    def document(self) -> dict[str, Any]:
        table = self._routes()
        upstreams = table.upstreams(api_only=True)  # the web pages have no API description
        with self._lock:  # one refresh at a time; others wait for it rather than stampede upstreams
            due = []
            for service, base_url in upstreams.items():
                entry = self._fetched.setdefault(service, _Fetched())
                if time.monotonic() - entry.checked_at >= self.refresh_seconds:
                    due.append((service, base_url, entry))
            if due:  # in parallel: a slow upstream delays the document by its own timeout only
                with ThreadPoolExecutor(max_workers=len(due)) as pool:
                    list(pool.map(lambda job: self._refresh(*job), due))
        documents: dict[str, dict[str, Any]] = {}
        notes: dict[str, dict[str, Any]] = {}
        for service in upstreams:
            entry = self._fetched[service]
            if entry.document is not None:
                documents[service] = entry.document
                notes[service] = {
                    "status": "stale" if entry.error else "current",
                    "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.fetched_at)),
                }
                if entry.error:
                    notes[service]["note"] = f"last refresh failed ({entry.error}); showing the last known document"
            else:
                notes[service] = {
                    "status": "omitted",
                    "note": f"the service's API description is unavailable ({entry.error})",
                }
        return merge_documents(
            documents,
            table,
            title="MAI e-services API",
            version=self.version,
            server_url=self.server_url,
            notes=notes,
        )

    def _refresh(self, service: str, base_url: str, entry: _Fetched) -> None:
        entry.checked_at = time.monotonic()
        try:
            response = self._session_for(base_url).get(f"{base_url}/openapi.json", timeout=FETCH_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict) or not isinstance(document.get("paths", {}), dict):
                raise ValueError("not an OpenAPI document")
        except (requests.RequestException, ValueError) as exc:
            entry.error = exc.__class__.__name__
            logger.warning("OpenAPI document of %s unavailable: %s", service, entry.error)
            return
        entry.document, entry.fetched_at, entry.error = document, time.time(), None
