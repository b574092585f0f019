"""A rolling update drops no request: every web pod waits in preStop before SIGTERM, and its grace
period covers that wait and gunicorn's drain. tests/ops/test_web_replacement.py runs the same
sequence against real gunicorn processes."""

from __future__ import annotations

import re

import pytest
from manifests import OVERLAYS, REPO_ROOT, of_kind

#: How long endpoint removal takes to reach kube-proxy and the ingress controller, at most, in practice.
PROPAGATION_SECONDS = 5


def _graceful_timeout() -> int:
    source = (REPO_ROOT / "libs" / "chassis" / "src" / "mai_chassis" / "service.py").read_text()
    assert re.search(r'"graceful_timeout":\s*GRACEFUL_STOP_SECONDS', source), (
        "gunicorn's graceful_timeout is no longer GRACEFUL_STOP_SECONDS in mai_chassis.service"
    )
    found = re.search(r"^GRACEFUL_STOP_SECONDS = (\d+)$", source, re.MULTILINE)
    assert found, "GRACEFUL_STOP_SECONDS is no longer a number in mai_chassis.service"
    return int(found.group(1))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_web_pod_outlasts_endpoint_propagation_and_drains_in_its_grace_period(rendered, overlay) -> None:
    webs = [d for d in of_kind(rendered[overlay], "Deployment") if d["metadata"]["name"].endswith("-web")]
    assert len(webs) >= 7
    for deployment in webs:
        spec = deployment["spec"]["template"]["spec"]
        [web] = [c for c in spec["containers"] if c["name"] == "web"]
        pre_stop = web["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop >= 2 * PROPAGATION_SECONDS, deployment["metadata"]["name"]
        assert spec["terminationGracePeriodSeconds"] > pre_stop + _graceful_timeout(), deployment["metadata"]["name"]
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
