"""Writing a notification as a MIME mail and handing it to the SMTP server, outcome classified.

``SmtpMailer`` keeps one connection open across sends (one per delivery loop) and reconnects when
the server dropped it. Every failure is turned into a :class:`SendResult` whose outcome follows
:func:`notify.domain.classify_smtp_reply`: 5xx for this mail is permanent; 4xx, refused
connections, timeouts and authentication trouble (our configuration, not the citizen's address)
are temporary.
"""

from __future__ import annotations

import email.policy
import functools
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, localtime
from typing import Protocol

from .domain import SendOutcome, classify_smtp_reply

__all__ = ["MailTransport", "OutgoingMail", "SendResult", "SmtpMailer", "build_message"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str
    language: str


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    smtp_status: int | None = None
    #: A short reason without personal data (an SMTP reply text may quote the address, so never it).
    reason: str = ""


class MailTransport(Protocol):
    def send(self, message: Message) -> SendResult: ...

    def close(self) -> None: ...


# CRLF line ends; headers folded only past RFC 5322's hard limit, so that a Message-ID stays on one line.
# The compat32 message classes: the modern EmailMessage parses every header it is given through the
# header registry and folds each again on output, a third of notify-svc's CPU time per mail.
_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.header_encoding = QP  # encoded words stay readable: =?utf-8?q?Peti=C8=9Bia...?=
_UTF8_QP.body_encoding = QP


def _one_line(value: str) -> str:
    """A header value on one line: a line break in rendered data must never start a new header."""
    return " ".join(value.split())


def build_message(mail: OutgoingMail, *, mail_from: str) -> Message:
    """A multipart/alternative mail (plain text first, HTML second) with the notification's Message-ID."""
    subject = _one_line(mail.subject)
    message = MIMEMultipart("alternative", policy=_POLICY)
    message["Message-ID"] = _one_line(mail.message_id)
    message["Date"] = format_datetime(localtime())
    message["From"] = _one_line(mail_from)
    message["To"] = formataddr((_one_line(mail.to_name), mail.to_address), charset=_UTF8_QP)
    # RFC 2047: encoded words of at most 75 characters, folded onto continuation lines.
    if not subject.isascii():
        subject = Header(subject, _UTF8_QP).encode(maxlinelen=76, linesep="\r\n")
    message["Subject"] = subject
    # RFC 3834: an automatic message; auto-responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = _one_line(mail.language)
    message.attach(_text_part(mail.text, "plain"))
    message.attach(_text_part(mail.html, "html"))
    return message


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A text/<subtype> part in UTF-8, quoted-printable (what ``MIMEText`` does with a ``Charset``)."""
    part = MIMENonMultipart("text", subtype, policy=_POLICY, charset=str(_UTF8_QP))
    part.set_payload(text, _UTF8_QP)
    return part


def _first_code(refused: dict[str, tuple[int, bytes]]) -> int | None:
    for code, _text in refused.values():
        return int(code)
    return None


class SmtpMailer:
    """An SMTP client over one kept-open connection: none, STARTTLS or implicit TLS; optional login."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"unknown SMTP security mode {security!r}")
        self.host, self.port, self.security = host, port, security
        self._username, self._password = username, password
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = _tls_context() if self.security != "none" else None
        connection: smtplib.SMTP
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context, local_hostname=self.local_hostname
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
        try:
            connection.ehlo()
            if self.security == "starttls":
                connection.starttls(context=context)
                connection.ehlo()
            if self._username:
                connection.login(self._username, self._password)
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, message: Message) -> SendResult:
        reused = self._connection is not None
        try:
            return self._send_once(message)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            if not reused:
                return SendResult(SendOutcome.TEMPORARY, None, "disconnected")
        # The server closed a connection we kept idle: one fresh try before calling it a failure.
        try:
            return self._send_once(message)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            return SendResult(SendOutcome.TEMPORARY, None, "disconnected")

    def _send_once(self, message: Message) -> SendResult:
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._connection.send_message(message)
            return SendResult(SendOutcome.ACCEPTED, 250)
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code = _first_code(exc.recipients)
            self._reset()
            return SendResult(classify_smtp_reply(code), code, "recipient refused")
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            logger.error("SMTP login refused (%d): check SMTP_USERNAME and SMTP_PASSWORD", exc.smtp_code)
            return SendResult(SendOutcome.TEMPORARY, exc.smtp_code, "authentication failed")
        except smtplib.SMTPConnectError as exc:
            self._drop()
            return SendResult(SendOutcome.TEMPORARY, exc.smtp_code, "connection refused by server")
        except smtplib.SMTPResponseException as exc:
            self._reset()
            return SendResult(classify_smtp_reply(exc.smtp_code), exc.smtp_code, exc.__class__.__name__)
        except smtplib.SMTPNotSupportedError:
            self._drop()
            return SendResult(SendOutcome.PERMANENT, None, "mail needs an SMTP extension the server lacks")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return SendResult(SendOutcome.TEMPORARY, None, exc.__class__.__name__)

    def _reset(self) -> None:
        """After a refused mail the connection may be reused once the transaction is reset."""
        if self._connection is None:
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the system's CA certificates costs milliseconds: once per process, not per connection."""
    return ssl.create_default_context()
