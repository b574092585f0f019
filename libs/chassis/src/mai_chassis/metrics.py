"""Prometheus metrics shared by every service: HTTP RED, outbox backlog, consumer lag and outcomes.

Under gunicorn with several worker processes set ``PROMETHEUS_MULTIPROC_DIR``: counters and
histograms are then aggregated across processes at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "CONSUMER_LAG",
    "EVENTS_PROCESSED",
    "EVENT_PROCESSING_SECONDS",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "OUTBOX_PUBLISHED",
    "OUTBOX_PUBLISH_FAILURES",
    "CallbackGauge",
    "labelled",
    "method_label",
    "register_collector",
    "render_metrics",
]

#: How many labelled series :func:`labelled` keeps at hand per process, unless its caller says fewer.
KEPT_SERIES = 4096
_kept: dict[tuple[Any, ...], Any] = {}


def labelled(metric: Any, *labels: str, keep: int = KEPT_SERIES) -> Any:
    """``metric.labels(*labels)``, kept at hand: ``labels()`` takes a lock and checks its arguments on
    every call, which on a request's path cost more than counting. Past ``keep`` series kept in the
    process (all callers together), a new one is looked up each time instead of kept.
    """
    key = (metric, *labels)
    found = _kept.get(key)
    if found is None:
        found = metric.labels(*labels)
        if len(_kept) < keep:
            _kept[key] = found
    return found


#: The methods a request metric names; any other the client sends is counted as ``other``.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The request method as a metric label: a method is the client's to choose, and each new label
    value is a new series kept by every scrape (and, with several processes, a file's entry) forever."""
    return method if method in _METHODS else "other"


HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests served.", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published to Kafka.", ["service", "topic"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox publish attempts that failed (retried later).", ["service"]
)
EVENTS_PROCESSED = Counter(
    "events_processed_total",
    "Consumed events by outcome: processed, duplicate, ignored, retried, dead_lettered.",
    ["service", "group", "topic", "outcome"],
)
EVENT_PROCESSING_SECONDS = Histogram(
    "event_processing_duration_seconds", "Time to process one consumed event.", ["service", "group", "topic"]
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Messages behind the end of each assigned partition.",
    ["service", "group", "topic", "partition"],
    multiprocess_mode="max",
)

_extra_collectors: dict[str, Collector] = {}


class CallbackGauge(Collector):
    """A gauge whose value is computed at scrape time (e.g. a count from the database)."""

    def __init__(self, name: str, documentation: str, labels: dict[str, str], read: Callable[[], float]) -> None:
        self._name, self._doc, self._labels, self._read = name, documentation, labels, read
        self.identity = name + repr(sorted(labels.items()))

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=list(self._labels))
        try:
            family.add_metric(list(self._labels.values()), float(self._read()))
        except Exception:  # a scrape must never fail because a dependency is down
            family.add_metric(list(self._labels.values()), float("nan"))
        yield family


def register_collector(collector: Collector) -> None:
    """Add a scrape-time collector to what :func:`render_metrics` exposes (the latest one of an identity wins)."""
    _extra_collectors[getattr(collector, "identity", repr(collector))] = collector


def render_metrics() -> tuple[bytes, str]:
    """The exposition text of this process (or of all gunicorn workers in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        from prometheus_client import REGISTRY

        registry = CollectorRegistry()
        registry.register(_RegistryView(REGISTRY))
    for collector in list(_extra_collectors.values()):
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _RegistryView(Collector):
    def __init__(self, inner: CollectorRegistry) -> None:
        self._inner = inner

    def collect(self) -> Iterable[Metric]:
        return self._inner.collect()
