"""Signed links to manage an appointment from the confirmation e-mail (HMAC-SHA256 with an expiry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .domain import aware
from .tables import Appointment

__all__ = ["MANAGE_PAGE_PATH", "AppointmentLinkSigner", "AppointmentLinks", "InvalidLinkError"]

#: Where the e-mailed manage link points on the citizens' portal (the page, not the JSON API: a mail
#: reader can only open a link, and the page's forms make the changes).
MANAGE_PAGE_PATH = "/appointments/manage/"


class InvalidLinkError(Exception):
    """The link is malformed, forged or expired."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AppointmentLinkSigner:
    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the appointment link key must be at least 32 characters")
        self._key = key.encode()

    def _mac(self, message: bytes) -> bytes:
        return hmac.new(self._key, b"appointment-link:" + message, hashlib.sha256).digest()

    def sign(self, appointment_id: str, expires_at: datetime) -> str:
        message = f"{uuid.UUID(appointment_id)}|{int(expires_at.timestamp())}".encode()
        return f"{_b64(message)}.{_b64(self._mac(message))}"

    def verify(self, link_token: str, *, now: datetime | None = None) -> str:
        """The appointment id the link is for; raises :class:`InvalidLinkError`."""
        try:
            encoded, signature = link_token.split(".", 1)
            message = _unb64(encoded)
            if not hmac.compare_digest(self._mac(message), _unb64(signature)):
                raise InvalidLinkError("bad signature")
            appointment_id, expires = message.decode().split("|")
            expires_at = datetime.fromtimestamp(int(expires), UTC)
            appointment_id = str(uuid.UUID(appointment_id))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidLinkError("malformed link") from exc
        if (now or datetime.now(UTC)) >= expires_at:
            raise InvalidLinkError("expired link")
        return appointment_id


@dataclass(frozen=True)
class AppointmentLinks:
    """The manage links of appointments: signed tokens, and the portal page they open."""

    signer: AppointmentLinkSigner
    public_base_url: str
    sealer: Any | None = None  # mai_chassis.sealing.Sealer, when notify-svc shares a key

    def token_for(self, appointment: Appointment) -> str:
        """The signed link token of ``appointment``, valid until it starts."""
        return self.signer.sign(appointment.id, aware(appointment.starts_at))

    def manage_url(self, appointment: Appointment) -> str:
        """The citizens' portal page that shows the appointment and offers to move or cancel it."""
        return f"{self.public_base_url}{MANAGE_PAGE_PATH}{self.token_for(appointment)}"
