"""Fixtures for the end-to-end tests: the platform as real processes on a real broker and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mai_devtools import SmtpSink
from mai_devtools.local_platform import Platform


@pytest.fixture
def mail_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture
def start_platform(
    request: pytest.FixtureRequest,
    kafka_bootstrap_servers: str,
    database_factory: Callable[..., str],
    mail_sink: SmtpSink,
    topic_prefix: str,
) -> Iterator[Callable[..., Platform]]:
    """``start_platform(services=[...])`` starts those services (web + worker) and the gateway."""
    started: list[Platform] = []

    def start(services: list[str], **options: Any) -> Platform:
        platform = Platform(
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            database_urls={service: database_factory(service) for service in services},
            smtp_port=mail_sink.port,
            services=services,
            topic_prefix=topic_prefix,
            **options,
        )
        started.append(platform)
        try:
            platform.start()
        except Exception:
            print(platform.logs())
            raise
        return platform

    yield start
    failed = getattr(request.node, "rep_call", None)
    for platform in started:
        platform.stop()
        if failed is not None and failed.failed:
            print(platform.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
