"""Fixtures of notify-svc's unit tests: a migrated SQLite database, settings, a recording mail transport."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from mai_chassis import Database
from mai_chassis.migrations import upgrade
from notify.config import Settings
from notify.domain import SendOutcome
from notify.mailer import SendResult
from notify.template_registry import TemplateRegistry

MIGRATIONS = Path(__file__).parents[1] / "src" / "notify" / "migrations"
PUBLIC_BASE_URL = "https://e-services.mai.gov.ro"


def as_received(message: Message) -> EmailMessage:
    """The mail as its bytes on the wire read back by a receiver (modern parser, every header decoded)."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class RecordingTransport:
    """A mail transport that keeps what it was given and answers what the test scripted."""

    def __init__(self, answers: list[SendResult] | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.answers = list(answers or [])
        self.closed = 0

    def send(self, message: Message) -> SendResult:
        result = self.answers.pop(0) if self.answers else SendResult(SendOutcome.ACCEPTED, 250)
        if result.outcome is SendOutcome.ACCEPTED:
            self.sent.append(as_received(message))
        return result

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade(url, MIGRATIONS)
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        database_url=database.url,
        kafka_bootstrap_servers="",
        public_base_url=PUBLIC_BASE_URL,
        jwt_issuer="mai-identity",
        jwt_audience="mai-eservices",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        smtp_security="none",
        mail_from="MAI e-services <no-reply@e-services.mai.gov.ro>",
    )


@pytest.fixture(scope="session")
def registry() -> TemplateRegistry:
    return TemplateRegistry(public_base_url=PUBLIC_BASE_URL)
