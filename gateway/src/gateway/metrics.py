"""The gateway's own metrics, labelled by route prefix (the chassis' HTTP metrics see one catch-all rule)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "BODY_TOO_LARGE",
    "GATEWAY_LATENCY",
    "GATEWAY_REQUESTS",
    "RATE_LIMITED",
    "ROUTE_RELOADS",
    "UPSTREAM_FAILURES",
    "UPSTREAM_LATENCY",
]

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

GATEWAY_REQUESTS = Counter(
    "gateway_requests_total", "Requests answered by the gateway, per route.", ["route", "method", "status"]
)
GATEWAY_LATENCY = Histogram(
    "gateway_request_duration_seconds",
    "Time from request to response headers, per route (the gateway's share included).",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_LATENCY = Histogram(
    "gateway_upstream_duration_seconds",
    "Time the upstream took to answer with its headers.",
    ["route", "upstream"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_FAILURES = Counter(
    "gateway_upstream_failures_total",
    "Upstream calls that failed: unavailable (503), timeout (504), bad_gateway (502).",
    ["route", "upstream", "failure"],
)
RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429, per route.", ["route"])
BODY_TOO_LARGE = Counter("gateway_body_too_large_total", "Requests refused with 413, per route.", ["route"])
ROUTE_RELOADS = Counter("gateway_route_reloads_total", "Route table reloads after the file changed.", ["outcome"])
