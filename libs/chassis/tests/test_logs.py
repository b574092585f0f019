"""Logs: one JSON object a line, with ids bound, and national ID numbers scrubbed."""

from __future__ import annotations

import json
import logging

import pytest
from mai_chassis.logs import bind_context, configure_logging


def test_log_lines_are_json_with_request_and_event_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("log-test-svc")
    with bind_context(request_id="req-1", event_id="evt-9", traceparent=f"00-{'a' * 32}-{'b' * 16}-01"):
        logging.getLogger("x").warning("petition %s registered", "IGPR-2026-000001")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "petition IGPR-2026-000001 registered"
    assert line["request_id"] == "req-1"
    assert line["event_id"] == "evt-9"
    assert line["trace_id"] == "a" * 32
    assert line["service"] == "log-test-svc"


def test_a_cnp_or_bearer_token_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("log-test-svc")
    logging.getLogger("x").warning("lookup for %s with Bearer %s", "1960523400011", "eyJhbGciOi.abc.def")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "1960523400011" not in line
    assert "eyJhbGciOi" not in line
    assert "[redacted]" in line
