"""Gateway settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import OneOf, Range

__all__ = ["Settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"
    needs_database: ClassVar[bool] = False
    needs_broker: ClassVar[bool] = False

    #: A worker is replaced after this many requests (0: never). Every citizen request passes the
    #: gateway: five times the services' default, each replacement costing about a second of CPU.
    web_max_requests: int = 1_000_000
    #: The YAML route table (see :mod:`gateway.routes`); required.
    routes_file: str = ""
    #: How often the route file's modification is checked, in seconds.
    routes_check_seconds: float = 1.0
    #: Where rate-limit counts are kept (a ``limits`` storage URI). ``memory://`` counts in each
    #: gunicorn worker process (a limit is then exact only with WEB_CONCURRENCY=1);
    #: ``redis://host:6379/0`` shares counts across workers and pods.
    ratelimit_storage_uri: str = "memory://"
    #: Origins allowed to call the API from a browser (exact matches); empty: no CORS.
    cors_allowed_origins: tuple[str, ...] = ()
    #: Reverse proxies in front of the gateway whose X-Forwarded-* headers are believed (ingress: 1).
    trusted_proxies: int = 0
    #: Networks (CIDR) of the web front ends (the citizen portal) that call the API on a citizen's
    #: behalf: a request from one of them is counted against the address its X-Forwarded-For
    #: names, so rate limits stay per citizen. From any other peer the header is ignored.
    trusted_proxy_networks: tuple[str, ...] = ()
    #: How long a merged OpenAPI document is served before the upstreams are asked again.
    openapi_refresh_seconds: float = 60.0
    #: How long an upstream health answer is reused by /readyz.
    readiness_cache_seconds: float = 5.0
    #: ``all``: /readyz fails when any upstream is down; ``any``: only when none answers.
    readiness_policy: str = "all"
    #: Connections kept per upstream for the gateway's own calls (readiness probes, OpenAPI documents).
    upstream_pool_size: int = 8
    #: Port of the second listener, for the front ends' API calls (0: none; see :mod:`gateway.server`).
    internal_port: int = 0

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {
            "routes_file": env.str("GATEWAY_ROUTES_FILE"),
            "web_max_requests": env.int("WEB_MAX_REQUESTS", 1_000_000, validate=Range(min=0)),
            "routes_check_seconds": env.float("GATEWAY_ROUTES_CHECK_SECONDS", 1.0, validate=Range(min=0)),
            "ratelimit_storage_uri": env.str("RATELIMIT_STORAGE_URI", "memory://"),
            "cors_allowed_origins": tuple(env.list("CORS_ALLOWED_ORIGINS", [])),
            "trusted_proxies": env.int("GATEWAY_TRUSTED_PROXIES", 0, validate=Range(min=0, max=5)),
            "trusted_proxy_networks": tuple(env.list("GATEWAY_TRUSTED_PROXY_NETWORKS", [])),
            "openapi_refresh_seconds": env.float("GATEWAY_OPENAPI_REFRESH_SECONDS", 60.0, validate=Range(min=1)),
            "readiness_cache_seconds": env.float("GATEWAY_READINESS_CACHE_SECONDS", 5.0, validate=Range(min=0)),
            "readiness_policy": env.str("GATEWAY_READINESS_POLICY", "all", validate=OneOf(("all", "any"))),
            "upstream_pool_size": env.int("GATEWAY_UPSTREAM_POOL_SIZE", 8, validate=Range(min=1, max=512)),
            "internal_port": env.int("GATEWAY_INTERNAL_PORT", 0, validate=Range(min=0, max=65535)),
        }
