"""The platform's alerting rules: valid for Prometheus, unit-tested with promtool, each with its runbook.

The rules ship as a PrometheusRule; promtool reads a rule file, so the tests extract its
spec (the rule groups) into one. `promtool` comes with Debian's `prometheus` package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from manifests import K8S_DIR

RULES = K8S_DIR / "base" / "monitoring" / "platform-alerts.yaml"
RULE_TESTS = K8S_DIR / "tests" / "rules" / "platform-alerts.test.yaml"
RUNBOOK = K8S_DIR / "RUNBOOK.md"


def _alerts() -> list[dict]:  # type: ignore[type-arg]
    return [rule for group in yaml.safe_load(RULES.read_text())["spec"]["groups"] for rule in group["rules"]]


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a Prometheus rule file, beside a copy of the unit tests that loads it."""
    rule = yaml.safe_load(RULES.read_text())
    assert rule["kind"] == "PrometheusRule" and rule["apiVersion"] == "monitoring.coreos.com/v1"
    extracted = tmp_path / "platform-alerts.rules.yaml"
    extracted.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["rule_files"] = [extracted.name]
    (tmp_path / RULE_TESTS.name).write_text(yaml.safe_dump(tests, sort_keys=False))
    return extracted


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: apt-get install prometheus (Debian's package ships it)")
    return found


def test_the_rules_are_valid(promtool: str, rule_file: Path) -> None:
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_and_stays_silent_as_its_unit_tests_say(promtool: str, rule_file: Path) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name], capture_output=True, text=True, timeout=120, cwd=rule_file.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert {alert["alert"] for alert in _alerts()} <= tested, "an alert without a promtool test"


def test_every_alert_links_to_its_runbook_section() -> None:
    headings = {line[3:].strip().lower() for line in RUNBOOK.read_text().splitlines() if line.startswith("## ")}
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        assert url == f"deploy/k8s/RUNBOOK.md#{alert['alert'].lower()}", alert["alert"]
        assert alert["alert"].lower() in headings, f"RUNBOOK.md has no section {alert['alert']}"
        assert alert["labels"]["severity"] in {"warning", "critical"}
