"""The service's command line and settings."""

from __future__ import annotations

from typing import Any

import pytest
from booking.config import Settings
from booking.service import generate_slots_command
from click.testing import CliRunner
from mai_chassis import ConfigurationError
from sqlalchemy import create_engine, text


def test_generate_slots_creates_the_counter_slots_of_the_chosen_offices(database_url: str) -> None:
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "APPOINTMENT_LINK_KEY": "k" * 32,
        "LOG_JSON": "false",
    }
    runner = CliRunner()
    result = runner.invoke(
        generate_slots_command, ["--from", "2025-04-17", "--to", "2025-04-22", "--office", "IGI-SB"], env=env
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    with engine.connect() as connection:
        days = (
            connection.execute(
                text("SELECT DISTINCT substr(starts_at, 1, 10) FROM slots WHERE office = 'IGI-SB' ORDER BY 1")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    # Good Friday (18), the weekend, Easter Monday (21) are closed in 2025: Thursday 17 and Tuesday 22 remain.
    assert days == ["2025-04-17", "2025-04-22"]
    refused = runner.invoke(
        generate_slots_command, ["--from", "2025-04-17", "--to", "2025-04-18", "--office", "X"], env=env
    )
    assert refused.exit_code != 0 and "unknown office" in refused.output


def test_the_service_does_not_start_without_a_link_signing_key(monkeypatch: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.delenv("APPOINTMENT_LINK_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="APPOINTMENT_LINK_KEY"):
        Settings.from_env()


def test_an_s3_store_requires_its_bucket(monkeypatch: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("APPOINTMENT_LINK_KEY", "k" * 32)
    monkeypatch.setenv("DOCUMENT_STORE", "s3")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ConfigurationError, match="S3_BUCKET"):
        Settings.from_env()
