"""The SMTP sink receives real mail over SMTP and gives it back from its Maildir."""

from __future__ import annotations

import mailbox
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from mai_devtools import SmtpSink
from mai_devtools.ports import free_port


def _mail(subject: str, to: str = "ana.popescu@example.ro", body: str = "Numărul petiției: 1234/2026") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@mai.example.ro"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send(host: str, port: int, message: EmailMessage, **kwargs: object) -> None:
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.send_message(message, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "mail") as running:
        yield running


def test_a_sent_mail_is_read_back_with_headers_and_body(sink: SmtpSink) -> None:
    _send(sink.host, sink.port, _mail("Petiție înregistrată"))

    received = sink.wait_for(lambda m: m["Subject"] == "Petiție înregistrată", timeout=5)

    assert received["From"] == "noreply@mai.example.ro"
    assert received["To"] == "ana.popescu@example.ro"
    assert received.get_content().strip() == "Numărul petiției: 1234/2026"


def test_each_mail_is_one_file_a_person_can_open_in_the_maildir(sink: SmtpSink) -> None:
    _send(sink.host, sink.port, _mail("first"))
    _send(sink.host, sink.port, _mail("second"))
    sink.wait_for(lambda m: m["Subject"] == "second", timeout=5)

    files = sorted((sink.maildir / "new").iterdir())

    assert len(files) == 2
    assert all(b"Subject: " in path.read_bytes() for path in files)
    assert len(mailbox.Maildir(sink.maildir)) == 2


def test_messages_come_back_in_the_order_they_were_received(sink: SmtpSink) -> None:
    for number in range(5):
        _send(sink.host, sink.port, _mail(f"mail {number}"))

    assert [m["Subject"] for m in sink.messages()] == [f"mail {n}" for n in range(5)]


def test_the_envelope_recipients_are_kept_including_blind_copies(sink: SmtpSink) -> None:
    _send(
        sink.host,
        sink.port,
        _mail("copy"),
        to_addrs=["ana.popescu@example.ro", "archive@mai.example.ro"],
    )

    received = sink.wait_for(timeout=5)

    assert received["X-Envelope-From"] == "noreply@mai.example.ro"
    assert received["X-Envelope-To"] == "ana.popescu@example.ro, archive@mai.example.ro"


def test_any_login_is_accepted_so_clients_configured_with_credentials_work(sink: SmtpSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
        client.login("notify-svc", "not-a-real-password")
        client.send_message(_mail("after login"))

    assert sink.wait_for(timeout=5)["Subject"] == "after login"


def test_wait_for_gives_up_with_a_timeout_error_when_no_mail_matches(sink: SmtpSink) -> None:
    _send(sink.host, sink.port, _mail("something else"))

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="1 mail"):
        sink.wait_for(lambda m: m["Subject"] == "never sent", timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_stopped_sink_refuses_mail_and_accepts_it_again_on_the_same_port(sink: SmtpSink) -> None:
    port = sink.port
    sink.stop()

    with pytest.raises(OSError):
        _send(sink.host, port, _mail("during the outage"))

    sink.start()
    _send(sink.host, port, _mail("after the outage"))

    assert sink.port == port
    assert [m["Subject"] for m in sink.messages()] == ["after the outage"]


def test_clear_forgets_the_mail_received_so_far(sink: SmtpSink) -> None:
    _send(sink.host, sink.port, _mail("old"))
    sink.wait_for(timeout=5)

    sink.clear()
    _send(sink.host, sink.port, _mail("new"))

    assert [m["Subject"] for m in sink.messages()] == ["new"]


def test_a_sink_without_a_maildir_uses_a_temporary_one_removed_on_close() -> None:
    with SmtpSink() as sink:
        _send(sink.host, sink.port, _mail("temporary"))
        assert sink.wait_for(timeout=5)["Subject"] == "temporary"
        maildir = sink.maildir

    assert not maildir.exists()


def test_the_command_line_server_stores_mail_in_the_given_maildir(tmp_path: Path) -> None:
    port = free_port()
    maildir = tmp_path / "var" / "mail"
    server = subprocess.Popen(
        [sys.executable, "-m", "mai_devtools.smtp_sink", "--port", str(port), "--maildir", str(maildir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"127.0.0.1:{port}" in banner

        _send("127.0.0.1", port, _mail("from the command line"))

        stored = list((maildir / "new").iterdir())
        assert len(stored) == 1
        assert b"Subject: from the command line" in stored[0].read_bytes()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors
