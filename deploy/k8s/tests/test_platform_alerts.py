"""The platform's alerting rules: valid for Prometheus, unit-tested with promtool, each with its runbook.

`promtool` comes with Debian's `prometheus` package (.ci/run installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from manifests import K8S_DIR

RULES = K8S_DIR / "base" / "monitoring" / "platform-alerts.yaml"
RULE_TESTS = K8S_DIR / "tests" / "rules" / "platform-alerts.test.yaml"
RUNBOOK = K8S_DIR / "RUNBOOK.md"


def _alerts() -> list[dict]:  # type: ignore[type-arg]
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool not found: apt-get install prometheus (Debian's package ships it)")
    return found


def test_the_rules_are_valid(promtool: str) -> None:
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_and_stays_silent_as_its_unit_tests_say(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name], capture_output=True, text=True, timeout=120, cwd=RULE_TESTS.parent
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
