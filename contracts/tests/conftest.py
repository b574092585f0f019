"""Pytest setup for the contracts package: the integration marker."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so the marker is known whichever pytest configuration is in force.
    config.addinivalue_line("markers", "integration: needs a real Kafka broker named by KAFKA_BOOTSTRAP_SERVERS")
