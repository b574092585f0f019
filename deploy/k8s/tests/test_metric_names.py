"""Every metric a dashboard, an alert or an autoscaler asks for is one the code exports.

The names the code exports are read from its registries: every module of the chassis, the
services and the gateway is imported, so that their metrics register with prometheus_client, and
the exposition names are derived from each family's type (a counter ``x`` is scraped as
``x_total``, a histogram as ``x_bucket``/``x_sum``/``x_count``). Gauges computed at scrape time
(``CallbackGauge``, collectors yielding a ``GaugeMetricFamily``) register only in a running
process, and the gauges a job pushes to the Pushgateway register in a registry of their own, so
their names are read from where the code declares them. The queries are read from the
rendered manifests (both overlays): the Grafana dashboard's panels and variables, alerting rule
files and PrometheusRules, and KEDA's Prometheus triggers. A query naming anything else fails.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from mai_devtools.service_list import service_list
from manifests import OVERLAYS, REPO_ROOT, of_kind

PACKAGES = ["mai_chassis", *(s.package for s in service_list().apis), "gateway"]
#: Scrape-time gauges: declared with a literal name in these calls.
_SCRAPE_TIME = re.compile(r"(?:CallbackGauge|GaugeMetricFamily|CounterMetricFamily)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
#: Pushed gauges: declared with a literal name and a registry of their own.
_PUSHED = re.compile(r"Gauge\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"[^)]*registry=")
#: Metrics of the operators' exporters, not of our code: the name, and who exports it.
EXTERNAL = {
    "kafka_topic_partition_under_replicated_partition": "Strimzi's Kafka Exporter (Kafka spec.kafkaExporter)",
    "cnpg_pg_replication_lag": "CloudNativePG instance, default query pg_replication",
    "cnpg_pg_replication_in_recovery": "CloudNativePG instance, default query pg_replication",
    "cnpg_pg_replication_is_wal_receiver_up": "CloudNativePG instance, default query pg_replication",
    "cnpg_pg_stat_archiver_seconds_since_last_archival": "CloudNativePG instance, default query pg_stat_archiver",
    "cnpg_pg_stat_archiver_seconds_since_last_failure": "CloudNativePG instance, default query pg_stat_archiver",
    "cnpg_collector_last_available_backup_timestamp": "CloudNativePG instance manager's collector",
}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan", "atan2",
}  # fmt: skip


def _modules(package: str) -> Iterator[str]:
    root = importlib.import_module(package)
    yield package
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if ".migrations" in info.name or ".tests" in info.name:
            continue
        yield info.name


@pytest.fixture(scope="module")
def exported() -> set[str]:
    from prometheus_client import REGISTRY

    sources: list[str] = []
    for package in PACKAGES:
        for name in _modules(package):
            module = importlib.import_module(name)
            if getattr(module, "__file__", None):
                with open(module.__file__, encoding="utf-8") as source:
                    sources.append(source.read())
    names = {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
        if not family.name.startswith(("process_", "python_"))  # not exported in multi-process mode
    }
    names |= {match for text in sources for match in _SCRAPE_TIME.findall(text)}
    names |= {match for text in sources for match in _PUSHED.findall(text)}
    return names


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (Grafana's $variables and label_values allowed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expression)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    text = re.sub(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)", r"\1", text)  # Grafana's
    text = re.sub(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?", "", text)  # Grafana's variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, is_call = match.group(1), match.group(2)
        if is_call or name.lower() in _KEYWORDS or re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


def _dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield f"panel {panel.get('title')!r}", target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            yield f"variable {variable['name']!r}", query


def _rule_queries(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for group in document.get("groups", []) or []:
        for rule in group.get("rules", []):
            yield f"rule {rule.get('alert') or rule.get('record')!r}", str(rule["expr"])


def queries(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) of everything in the rendered objects that queries Prometheus."""
    for config_map in of_kind(objects, "ConfigMap"):
        for key, value in (config_map.get("data") or {}).items():
            where = f"ConfigMap {config_map['metadata']['name']}/{key}"
            if key.endswith(".json") and '"panels"' in value:
                for what, query in _dashboard_queries(json.loads(value)):
                    yield f"{where} {what}", query
            elif key.endswith((".yaml", ".yml")) and "groups:" in value:
                for what, query in _rule_queries(yaml.safe_load(value)):
                    yield f"{where} {what}", query
    for rule in of_kind(objects, "PrometheusRule"):
        for what, query in _rule_queries(rule["spec"]):
            yield f"PrometheusRule {rule['metadata']['name']} {what}", query
    for scaled in of_kind(objects, "ScaledObject"):
        for trigger in scaled["spec"].get("triggers", []):
            if trigger.get("type") == "prometheus":
                yield f"ScaledObject {scaled['metadata']['name']}", trigger["metadata"]["query"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_queried_metric_is_exported(rendered, exported: set[str], overlay: str) -> None:
    found = list(queries(rendered[overlay]))
    assert any("panel" in where for where, _ in found), "no dashboard panel read: the test reads nothing"
    unknown = [
        f"{where}: {name} in {query}"
        for where, query in found
        for name in sorted(metric_names(query))
        if name not in exported and name not in EXTERNAL
    ]
    assert not unknown, "queries name metrics no code exports:\n" + "\n".join(unknown)


def test_the_exported_names_are_read_from_the_code(exported: set[str]) -> None:
    # One of each kind: a chassis counter and histogram, a service's own counter, scrape-time gauges.
    assert {"http_requests_total", "http_request_duration_seconds_bucket", "notifications_total"} <= exported
    assert {"outbox_pending_events", "petitions_overdue", "booking_slots_last_start_timestamp_seconds"} <= exported
    assert "certificates_issued_total" not in exported


def test_the_query_reader_finds_names_and_nothing_else() -> None:
    assert metric_names(
        'sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service",route!="x y"}[5m]))'
    ) == {"http_request_duration_seconds_bucket"}
    assert metric_names("max(a_bytes) / max(b_bytes) > 0.8 and on(x) c offset 5m") == {"a_bytes", "b_bytes", "c"}
    assert metric_names("label_values(http_requests_total, service)") == {"http_requests_total"}
    assert metric_names("time() - max(x_seconds) < 7 * 86400") == {"x_seconds"}
    assert REPO_ROOT.is_dir()
