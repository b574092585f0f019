"""notify-svc's settings and wiring: read from the environment, failing fast; topics from the contracts."""

from __future__ import annotations

import mai_contracts
import pytest
from mai_chassis import ConfigurationError, Database
from notify.config import Settings
from notify.deps import build_deps
from notify.service import build_consumer
from notify.template_registry import TemplateRegistry

REQUIRED = {
    "DATABASE_URL": "sqlite://",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "SMTP_HOST": "smtp.mai.local",
    "MAIL_FROM": "no-reply@e-services.mai.gov.ro",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize("missing", ["SMTP_HOST", "MAIL_FROM"])
def test_the_service_does_not_start_without_a_mail_relay_or_sender(
    environment: pytest.MonkeyPatch, missing: str
) -> None:
    environment.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env()


def test_smtp_settings_are_read_and_the_password_never_shows_in_a_repr(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SMTP_PORT", "465")
    environment.setenv("SMTP_SECURITY", "tls")
    environment.setenv("SMTP_USERNAME", "notify")
    environment.setenv("SMTP_PASSWORD", "relay-secret-value")
    settings = Settings.from_env()
    assert (settings.smtp_port, settings.smtp_security, settings.smtp_username) == (465, "tls", "notify")
    assert settings.smtp_password == "relay-secret-value"
    assert "relay-secret-value" not in repr(settings)


def test_an_unknown_smtp_security_mode_is_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SMTP_SECURITY", "ssl")
    with pytest.raises(ConfigurationError, match="SMTP_SECURITY"):
        Settings.from_env()


def test_the_consumer_listens_to_every_topic_the_contracts_route_to_notify_svc(
    settings: Settings, database: Database, registry: TemplateRegistry
) -> None:
    expected = sorted(t.name for t in mai_contracts.load_topics(include_dlq=False) if "notify-svc" in t.consumers)
    consumer = build_consumer(build_deps(settings, registry=registry), database)
    assert consumer.topics == expected
    assert consumer.group_id == "notify-svc"


@pytest.mark.parametrize("variable", ["DELIVERY_MAX_ATTEMPTS", "DELIVERY_CONCURRENCY", "DELIVERY_BATCH_SIZE"])
def test_delivery_counts_below_one_are_refused(environment: pytest.MonkeyPatch, variable: str) -> None:
    environment.setenv(variable, "0")
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_env()
