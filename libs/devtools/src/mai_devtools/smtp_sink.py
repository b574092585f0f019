"""An SMTP server that accepts every mail and keeps it in a Maildir, for development and tests.

Run it for a person to read the mail (any Maildir reader works, e.g. ``mutt -f var/mail``)::

    python -m mai_devtools.smtp_sink --host 127.0.0.1 --port 2525 --maildir var/mail

or use :class:`SmtpSink` in tests::

    with SmtpSink() as sink:
        send_mail(host=sink.host, port=sink.port)
        mail = sink.wait_for(lambda m: m["To"] == "ana@example.ro")
        sink.stop()   # an SMTP outage: connections are refused ...
        sink.start()  # ... until it is back, on the same port

Every stored mail gets ``X-Envelope-From`` and ``X-Envelope-To`` headers with the SMTP envelope,
so that blind-copy recipients can be checked too. Any AUTH login is accepted, without TLS.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import mailbox
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mai_devtools.ports import free_port

__all__ = ["MaildirHandler", "SmtpSink", "main"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
DEFAULT_MAILDIR = Path("var/mail")
DEFAULT_WAIT_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
READY_TIMEOUT_S = 5.0


class MaildirHandler:
    """aiosmtpd handler that writes each accepted mail into a Maildir as one file."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = Path(maildir)
        # Maildir delivery is safe across processes; the lock only orders this process's writers.
        self._lock = threading.Lock()
        self._ensure_layout()

    def _ensure_layout(self) -> None:
        # mailbox.Maildir(create=True) skips an existing empty directory, e.g. one from mkdtemp.
        for part in ("tmp", "new", "cur"):
            (self.maildir / part).mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        recipients = ", ".join(envelope.rcpt_tos)
        trace = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {recipients}\r\n".encode()
        with self._lock:
            self._ensure_layout()
            key = mailbox.Maildir(self.maildir, create=False).add(trace + content)
        logger.info(
            "stored a mail of %d bytes for %d recipient(s) as %s",
            len(content),
            len(envelope.rcpt_tos),
            key,
        )
        return "250 Message accepted for delivery"


def _accept_any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    user = auth_data.login.decode("utf-8", "replace") if isinstance(auth_data, LoginPassword) else None
    logger.debug("accepted %s login for %s", mechanism, user)
    return AuthResult(success=True, handled=False, auth_data=user)


def read_maildir(maildir: Path) -> list[EmailMessage]:
    """Every mail in the Maildir (new and cur), oldest delivery first."""
    box = mailbox.Maildir(maildir, factory=None, create=False)
    stored: list[tuple[float, str, bytes]] = []
    for key in box.keys():
        try:
            raw = box.get_bytes(key)
            delivered = box.get_message(key).get_date()
        except (KeyError, FileNotFoundError):
            continue  # removed while we were reading
        stored.append((delivered, key, raw))
    stored.sort()
    parsed = []
    for _, _, raw in stored:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        parsed.append(message)
    return parsed


class SmtpSink:
    """A real SMTP server on a loopback port, in a background thread, storing mail in a Maildir.

    The port is chosen once (a free one unless given) and kept across :meth:`stop` and
    :meth:`start`, so a client configured with it sees an outage and then a recovery.
    Without ``maildir`` the mail goes to a temporary directory removed by :meth:`close`.
    """

    def __init__(
        self,
        maildir: Path | str | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
    ) -> None:
        self._own_dir = maildir is None
        self.maildir = Path(tempfile.mkdtemp(prefix="mai-mail-")) if maildir is None else Path(maildir)
        self.host = host
        self.port = port or free_port()
        self._handler = MaildirHandler(self.maildir)
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpSink:
        """Start accepting mail (again) on the same host and port."""
        if self._controller is not None:
            return self
        controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            ready_timeout=READY_TIMEOUT_S,
            authenticator=_accept_any_login,
            auth_require_tls=False,
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller
        logger.info("SMTP sink listening on %s:%d, mail kept in %s", self.host, self.port, self.maildir)
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused until :meth:`start`. Stored mail stays."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None
        logger.info("SMTP sink on %s:%d stopped", self.host, self.port)

    def close(self) -> None:
        """Stop, and remove the Maildir if the sink created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.maildir, ignore_errors=True)

    def messages(self) -> list[EmailMessage]:
        """Every mail received so far, oldest first."""
        return read_maildir(self.maildir)

    def clear(self) -> None:
        """Forget every mail received so far."""
        box = mailbox.Maildir(self.maildir, create=True)
        for key in box.keys():
            box.discard(key)

    def wait_for(
        self,
        predicate: Callable[[EmailMessage], bool] = lambda _message: True,
        timeout: float = DEFAULT_WAIT_TIMEOUT_S,
    ) -> EmailMessage:
        """The first mail that satisfies ``predicate``, waiting up to ``timeout`` seconds for it.

        Raises TimeoutError when none arrives in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.messages()
            for message in seen:
                if predicate(message):
                    return message
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching mail within {timeout} s ({len(seen)} mail(s) received)")
            time.sleep(POLL_INTERVAL_S)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<SmtpSink {self.host}:{self.port} {state} maildir={str(self.maildir)!r}>"


def main(argv: list[str] | None = None) -> int:
    """Command line: run the sink until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m mai_devtools.smtp_sink",
        description="SMTP server that accepts every mail and keeps it in a Maildir.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--maildir", type=Path, default=DEFAULT_MAILDIR, help=f"where mail is kept (default {DEFAULT_MAILDIR})"
    )
    parser.add_argument("--verbose", action="store_true", help="log every SMTP command")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not args.verbose:
        logging.getLogger("mail.log").setLevel(logging.WARNING)

    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    sink = SmtpSink(args.maildir, host=args.host, port=args.port)
    try:
        sink.start()
    except (OSError, RuntimeError) as exc:
        logger.error("cannot listen on %s:%d: %s", args.host, args.port, exc)
        return 1
    print(f"SMTP sink on {args.host}:{args.port}; mail is kept in the Maildir {args.maildir.resolve()}", flush=True)
    stopping.wait()
    sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
