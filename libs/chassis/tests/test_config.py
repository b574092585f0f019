"""Settings: read once from the environment, missing required values fail fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from environs import Env
from mai_chassis import ConfigurationError, ServiceSettings


@dataclass(frozen=True, kw_only=True)
class ExampleSettings(ServiceSettings):
    service_name: ClassVar[str] = "example-svc"
    smtp_host: str = ""

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {"smtp_host": env.str("SMTP_HOST")}


def test_missing_required_values_are_all_named_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as caught:
        ExampleSettings.from_env()
    message = str(caught.value)
    assert "DATABASE_URL" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message
    assert "SMTP_HOST" in message


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/example")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("SMTP_HOST", "mail.internal")
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "staging.")
    settings = ExampleSettings.from_env()
    assert settings.database_url == "postgresql+psycopg://db/example"
    assert settings.smtp_host == "mail.internal"
    assert settings.is_production
    assert settings.kafka_topic_prefix == "staging."


def test_an_unknown_environment_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("SMTP_HOST", "mail")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ConfigurationError, match="ENVIRONMENT"):
        ExampleSettings.from_env()


def test_overrides_satisfy_required_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("SMTP_HOST", "mail")
    settings = ExampleSettings.from_env(database_url="sqlite://")
    assert settings.database_url == "sqlite://"


@dataclass(frozen=True, kw_only=True)
class UrlSettings(ServiceSettings):
    service_name: ClassVar[str] = "url-svc"
    identity_url: str = ""

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {"identity_url": env.str("IDENTITY_URL").rstrip("/")}


def test_a_missing_value_used_while_reading_is_still_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.delenv("IDENTITY_URL", raising=False)
    with pytest.raises(ConfigurationError, match="IDENTITY_URL"):
        UrlSettings.from_env()
