"""ACCOUNT_EXPORT_SOURCES: the services a citizen's data download gathers, required in production."""

from __future__ import annotations

import pytest
from identity.config import Settings
from identity_testing import make_settings
from mai_chassis import ConfigurationError

pytestmark = pytest.mark.unit

PRODUCTION = {"environment": "production", "argon2_time_cost": 2, "argon2_memory_kib": 19 * 1024}
BASE_ENV = {
    "DATABASE_URL": "sqlite://",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "IDENTITY_ENCRYPTION_KEYS": "a" * 44,
    "EVENT_SEALING_KEYS": "b" * 44,
}


def test_production_refuses_a_download_that_would_gather_nothing() -> None:
    with pytest.raises(ConfigurationError, match="ACCOUNT_EXPORT_SOURCES"):
        make_settings("sqlite://", **PRODUCTION)


def test_the_sources_are_read_as_names_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACCOUNT_EXPORT_SOURCES", "petition-svc=http://petition-svc/, record-svc=https://record-svc")
    assert Settings.from_env().export_sources == (
        ("petition-svc", "http://petition-svc"),
        ("record-svc", "https://record-svc"),
    )
    monkeypatch.setenv("ACCOUNT_EXPORT_SOURCES", "petition-svc")
    with pytest.raises(ConfigurationError, match="ACCOUNT_EXPORT_SOURCES"):
        Settings.from_env()
