"""The SMTP client classifies what the server answers: accepted, temporary or permanent."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage, Message
from typing import Any

import pytest
from notify import mailer
from notify.domain import SendOutcome
from notify.mailer import OutgoingMail, SmtpMailer, build_message

from .conftest import as_received


class FakeSmtp:
    """Stands in for smtplib.SMTP: each instance plays the next scripted behaviour on send."""

    script: list[Any] = []
    instances: list[FakeSmtp] = []

    def __init__(self, host: str, port: int, timeout: float, local_hostname: str | None = None) -> None:
        if FakeSmtp.script and FakeSmtp.script[0] == "refuse-connection":
            FakeSmtp.script.pop(0)
            raise ConnectionRefusedError("connection refused")
        self.sent: list[EmailMessage] = []
        self.commands: list[str] = []
        FakeSmtp.instances.append(self)

    def ehlo(self) -> None:
        self.commands.append("ehlo")

    def starttls(self, context: Any = None) -> None:
        self.commands.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.commands.append("login")
        if FakeSmtp.script and FakeSmtp.script[0] == "bad-login":
            FakeSmtp.script.pop(0)
            raise smtplib.SMTPAuthenticationError(535, b"5.7.8 authentication failed")

    def send_message(self, message: Message) -> dict:
        behaviour = FakeSmtp.script.pop(0) if FakeSmtp.script else "ok"
        if isinstance(behaviour, BaseException):
            raise behaviour
        self.sent.append(as_received(message))
        return {}

    def rset(self) -> None:
        self.commands.append("rset")

    def quit(self) -> None:
        self.commands.append("quit")

    def close(self) -> None:
        self.commands.append("close")


@pytest.fixture(autouse=True)
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSmtp]:
    FakeSmtp.script, FakeSmtp.instances = [], []
    monkeypatch.setattr(mailer.smtplib, "SMTP", FakeSmtp)
    return FakeSmtp


def a_message() -> Message:
    return build_message(
        OutgoingMail(
            message_id="<2b3c4d5e@notify.e-services.mai.gov.ro>",
            to_address="ana.popescu@example.ro",
            to_name="Ana Popescu",
            subject="Petiția dvs. a fost înregistrată cu numărul IGPR-2025-000123",
            text="Bună ziua",
            html="<p>Bună ziua</p>",
            language="ro",
        ),
        mail_from="MAI <no-reply@e-services.mai.gov.ro>",
    )


def smtp(**options: Any) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=2525, security=options.pop("security", "none"), **options)


def test_a_mail_carries_its_message_id_both_bodies_and_auto_submitted() -> None:
    message = as_received(a_message())
    assert message["Message-ID"] == "<2b3c4d5e@notify.e-services.mai.gov.ro>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "ro"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("plain",)).get_content() == "Bună ziua"
    assert message.get_body(("html",)).get_content().strip() == "<p>Bună ziua</p>"
    assert str(message["To"]) == "Ana Popescu <ana.popescu@example.ro>"
    assert str(message["Subject"]) == "Petiția dvs. a fost înregistrată cu numărul IGPR-2025-000123"


def test_headers_are_plain_ascii_lines_within_rfc_limits_and_line_breaks_in_data_never_add_a_header() -> None:
    long_subject = "Petiția dvs. către Inspectoratul General al Poliției Române a fost redirecționată " * 3
    mail = OutgoingMail(
        message_id="<1@notify.e-services.mai.gov.ro>",
        to_address="ana.popescu@example.ro",
        to_name="Ana\r\nBcc: intrus@example.ro",
        subject=long_subject + "\nBcc: intrus@example.ro",
        text="Bună ziua",
        html="<p>Bună ziua</p>",
        language="ro",
    )
    raw = build_message(mail, mail_from="MAI <no-reply@e-services.mai.gov.ro>").as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    lines = head.split(b"\r\n")
    assert not any(line.startswith(b"Bcc") for line in lines)
    assert all(len(line) <= 998 for line in lines)
    words = [word for line in lines for word in line.split() if word.startswith(b"=?")]
    assert words and all(len(word) <= 75 for word in words)  # RFC 2047 encoded words
    received = as_received(build_message(mail, mail_from="MAI <no-reply@e-services.mai.gov.ro>"))
    assert received["Bcc"] is None
    assert str(received["Subject"]) == " ".join((long_subject + " Bcc: intrus@example.ro").split())
    assert received["To"].addresses[0].addr_spec == "ana.popescu@example.ro"


def test_an_accepted_mail_is_reported_accepted_and_the_connection_is_reused() -> None:
    client = smtp()
    assert client.send(a_message()).outcome is SendOutcome.ACCEPTED
    assert client.send(a_message()).outcome is SendOutcome.ACCEPTED
    assert len(FakeSmtp.instances) == 1
    assert len(FakeSmtp.instances[0].sent) == 2


@pytest.mark.parametrize(
    ("error", "outcome", "status"),
    [
        (smtplib.SMTPRecipientsRefused({"ana@example.ro": (550, b"no such user")}), SendOutcome.PERMANENT, 550),
        (smtplib.SMTPRecipientsRefused({"ana@example.ro": (452, b"mailbox full")}), SendOutcome.TEMPORARY, 452),
        (smtplib.SMTPSenderRefused(553, b"sender refused", "no-reply@x"), SendOutcome.PERMANENT, 553),
        (smtplib.SMTPDataError(554, b"message rejected"), SendOutcome.PERMANENT, 554),
        (smtplib.SMTPDataError(451, b"try again later"), SendOutcome.TEMPORARY, 451),
        (TimeoutError("timed out"), SendOutcome.TEMPORARY, None),
    ],
)
def test_refusals_are_classified_by_their_reply_code(
    error: BaseException, outcome: SendOutcome, status: int | None
) -> None:
    FakeSmtp.script = [error]
    result = smtp().send(a_message())
    assert (result.outcome, result.smtp_status) == (outcome, status)
    assert "ana@example.ro" not in result.reason  # the reason is logged and stored: no address in it


def test_a_server_that_is_down_is_a_temporary_failure() -> None:
    FakeSmtp.script = ["refuse-connection"]
    assert smtp().send(a_message()).outcome is SendOutcome.TEMPORARY


def test_a_refused_login_is_our_configuration_not_the_citizens_fault_so_it_is_retried() -> None:
    FakeSmtp.script = ["bad-login"]
    result = smtp(username="notify", password="not-this-one").send(a_message())
    assert (result.outcome, result.smtp_status) == (SendOutcome.TEMPORARY, 535)


def test_starttls_and_login_happen_before_the_mail_when_configured() -> None:
    smtp(security="starttls", username="notify", password="x").send(a_message())
    assert FakeSmtp.instances[0].commands[:4] == ["ehlo", "starttls", "ehlo", "login"]


def test_a_connection_the_server_dropped_while_idle_is_reopened_once() -> None:
    client = smtp()
    client.send(a_message())
    FakeSmtp.script = [smtplib.SMTPServerDisconnected("gone")]
    assert client.send(a_message()).outcome is SendOutcome.ACCEPTED
    assert len(FakeSmtp.instances) == 2


def test_an_unknown_security_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpMailer(host="127.0.0.1", port=25, security="ssl3")
