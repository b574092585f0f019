"""JSON logs that carry the request id, trace id and event id, with national ID numbers scrubbed."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterator

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "bind_context",
    "configure_logging",
    "current_request_id",
    "current_traceparent",
    "event_id_var",
    "request_id_var",
    "traceparent_var",
]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
traceparent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

# A Romanian CNP is 13 digits starting 1-9; anything shaped like one is scrubbed from every log
# line as a last line of defence (code must not log one in the first place).
_CNP_SHAPE = re.compile(r"(?<!\d)[1-9]\d{12}(?!\d)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def current_request_id() -> str | None:
    return request_id_var.get()


def current_traceparent() -> str | None:
    return traceparent_var.get()


@contextlib.contextmanager
def bind_context(
    *, request_id: str | None = None, traceparent: str | None = None, event_id: str | None = None
) -> Iterator[None]:
    """Bind ids to every log line written inside the block (threads and asyncio safe)."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if traceparent is not None:
        tokens.append((traceparent_var, traceparent_var.set(traceparent)))
    if event_id is not None:
        tokens.append((event_id_var, event_id_var.set(event_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class _ContextFilter(logging.Filter):
    """Adds the bound ids to each record and scrubs CNP-shaped numbers and bearer tokens."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.event_id = event_id_var.get()
        traceparent = traceparent_var.get()
        record.trace_id = traceparent.split("-")[1] if traceparent and traceparent.count("-") == 3 else None
        message = record.getMessage()
        scrubbed = _BEARER.sub(r"\1[redacted]", _CNP_SHAPE.sub("[redacted]", message))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def configure_logging(service: str, *, level: str = "INFO", json_format: bool = True) -> None:
    """Send every log record to stderr, as one JSON object a line (or plain text for a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if json_format:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(trace_id)s %(event_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(service)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Client libraries are chatty at INFO; their warnings still come through.
    for noisy in ("kafka", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
