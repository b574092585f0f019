"""The alerting rules are well formed and watch metrics the services really export."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from manifests import K8S_DIR, REPO_ROOT

ROOT = REPO_ROOT
RULES = K8S_DIR / "base" / "monitoring" / "alert-rules.yaml"
_METRIC = re.compile(r"\b([a-z_]+_(?:total|bytes))\b")


def _sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in ROOT.glob("services/*/src/**/*.py"))


def test_every_rule_has_an_alert_an_expression_a_severity_and_a_summary() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["spec"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= {"PetitionAttachmentStoreNearlyFull", "OnDemandMailsSuppressed"}
    for rule in rules:
        assert rule["expr"] and rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


def test_the_rules_watch_metrics_the_services_export() -> None:
    sources = _sources()
    metrics = set(_METRIC.findall(RULES.read_text(encoding="utf-8")))
    assert metrics >= {"petition_attachment_store_bytes", "notifications_suppressed_total"}
    for metric in metrics:
        exported = metric.removesuffix("_total") if metric.endswith("_total") else metric
        assert f'"{exported}' in sources, f"{metric} is exported by no service"


def test_the_rules_are_shipped_as_prometheus_rules(rendered: dict[str, list[dict]]) -> None:  # type: ignore[type-arg]
    for objects in rendered.values():
        rules = {o["metadata"]["name"] for o in objects if o["kind"] == "PrometheusRule"}
        assert rules == {"mai-public-abuse-alerts", "mai-platform-alerts"}
        assert not [o for o in objects if o["kind"] == "ConfigMap" and "rules" in o["metadata"]["name"]]
    assert Path(RULES).is_file()
