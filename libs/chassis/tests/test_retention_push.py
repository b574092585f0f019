"""A purge job pushes its outcome to the Pushgateway (it ends before anything could scrape it)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from mai_chassis.retention import PUSH_JOB, push_purge_metrics
from mai_chassis.testing import QuietHandler, serve_http
from prometheus_client.parser import text_string_to_metric_families


def _gateway() -> Any:
    """A stand-in Pushgateway's handler and the (method, path, body) it received."""
    received: list[tuple[str, str, str]] = []

    class Handler(QuietHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append(("PUT", self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler, received


def test_a_finished_run_pushes_its_rows_per_class_and_the_time_it_succeeded() -> None:
    handler, received = _gateway()
    before = time.time()
    with serve_http(handler) as url:
        push_purge_metrics(
            url, "identity-svc", {"inactive-accounts": 2, "outbox": 7}, actions={"inactive-accounts": "delete"}
        )

    [(method, path, body)] = received
    assert method == "PUT" and path == f"/metrics/job/{PUSH_JOB}/service/identity-svc"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    labels = (("action", "delete"), ("class", "inactive-accounts"), ("service", "identity-svc"))
    assert samples[("retention_purge_rows", labels)] == 2
    assert (
        samples[("retention_purge_rows", (("action", "delete"), ("class", "outbox"), ("service", "identity-svc")))] == 7
    )
    succeeded = samples[("retention_purge_last_success_timestamp_seconds", (("service", "identity-svc"),))]
    assert before <= succeeded <= time.time()


def test_an_unreachable_pushgateway_is_logged_and_does_not_fail_the_purge(caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = _gateway()
    with serve_http(handler) as url:
        pass  # the server is gone: nothing listens there any more
    with caplog.at_level(logging.WARNING, logger="mai_chassis.retention"):
        push_purge_metrics(url, "record-svc", {"outbox": 1}, actions={})
    assert "not pushed" in caplog.text
