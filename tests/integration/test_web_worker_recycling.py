"""Gunicorn replaces a web worker after a number of requests: nothing fails across the change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


def test_requests_succeed_and_metrics_survive_while_web_workers_are_recycled(
    start_platform: Callable[..., Any],
) -> None:
    # A worker lives for 20 or 21 requests: 300 requests go through about fourteen of them.
    platform = start_platform(["petition"], extra_env={"WEB_MAX_REQUESTS": "20", "WEB_CONCURRENCY": "2"})
    statuses: dict[int, int] = {}
    with requests.Session() as session:
        for _ in range(300):
            answer = session.get(f"{platform.url('petition')}/api/v1/institutions", timeout=10)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    assert statuses == {200: 300}

    exposition = requests.get(f"{platform.url('petition')}/metrics", timeout=10)
    assert exposition.status_code == 200
    served = sum(
        sample.value
        for family in text_string_to_metric_families(exposition.text)
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels.get("route") == "/api/v1/institutions"
    )
    # Counts of the workers that were replaced are kept, not lost with them.
    assert served == 300
