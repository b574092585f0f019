"""Notification delivery rules: the status machine, retry schedule and SMTP outcome classes (no I/O).

A notification is written once per event; each *delivery* of it (the first, and any an
administrator asks for) goes through::

    created ──claim──▶ sending ──▶ delivered                       (final)
                          │   └──▶ permanent-failure               (final)
                          └──────▶ temporary-failure ──claim──▶ sending ...
                                        └── attempts exhausted ─▶ permanent-failure

    suppressed                                                     (final, never sent)

A final status never changes again; a resend is a new delivery, not a step back. A delivery is
born ``suppressed`` when its recipient address already received as many mails that anyone can
trigger (``ON_DEMAND_EVENT_TYPES``) as the per-recipient limit allows in its window; an
administrator's resend still sends it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "FINAL_STATUSES",
    "ON_DEMAND_EVENT_TYPES",
    "Delivery",
    "DeliveryStatus",
    "IllegalTransitionError",
    "RecipientLimit",
    "SendOutcome",
    "address_is_deliverable",
    "classify_smtp_reply",
    "may_handle",
    "message_id_for",
    "recipient_key",
    "responsible_units",
    "retry_delay",
]


class DeliveryStatus(StrEnum):
    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    #: Never sent: the recipient's limit of mails anyone can trigger was reached.
    SUPPRESSED = "suppressed"


FINAL_STATUSES = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.PERMANENT_FAILURE, DeliveryStatus.SUPPRESSED})

#: Mails that anyone can make the ministry send to any address, without an account or with a
#: fresh one: registration (and a repeated registration), e-mail confirmation resent, password
#: reset, petition receipt. Every other mail follows an act of a signed-in citizen or of staff.
ON_DEMAND_EVENT_TYPES = frozenset(
    {
        "ro.mai.account.registered.v1",
        "ro.mai.account.registration_repeated.v1",
        "ro.mai.account.email_confirmation_requested.v1",
        "ro.mai.account.password_reset_requested.v1",
        "ro.mai.petition.submitted.v1",
    }
)


@dataclass(frozen=True)
class RecipientLimit:
    """At most ``mails`` on-demand mails to one address within ``window`` (counted from the first)."""

    mails: int = 10
    window: timedelta = timedelta(hours=24)


def recipient_key(address: str) -> str:
    """What the per-recipient count is kept under: a hash of the address as mail servers compare it."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


_ALLOWED = {
    DeliveryStatus.CREATED: {DeliveryStatus.SENDING},
    DeliveryStatus.TEMPORARY_FAILURE: {DeliveryStatus.SENDING, DeliveryStatus.PERMANENT_FAILURE},
    DeliveryStatus.SENDING: {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.TEMPORARY_FAILURE,
        DeliveryStatus.PERMANENT_FAILURE,
    },
    DeliveryStatus.DELIVERED: set(),
    DeliveryStatus.PERMANENT_FAILURE: set(),
    DeliveryStatus.SUPPRESSED: set(),
}


class IllegalTransitionError(ValueError):
    """A status change the delivery rules forbid (e.g. out of a final status)."""


class SendOutcome(StrEnum):
    """What one attempt to hand a mail to the SMTP server came to."""

    ACCEPTED = "accepted"
    TEMPORARY = "temporary"  # try again later: 4xx, connection refused, timeout
    PERMANENT = "permanent"  # never retried: 5xx for this mail, an invalid address


def retry_delay(attempt: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff after the ``attempt``-th failed attempt: base, 2 base, 4 base... capped."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** min(attempt - 1, 30)))


def classify_smtp_reply(code: int | None) -> SendOutcome:
    """An SMTP reply code as an outcome; no code at all (connection lost) is temporary."""
    if code is None:
        return SendOutcome.TEMPORARY
    if 200 <= code < 300:
        return SendOutcome.ACCEPTED
    if 500 <= code < 600:
        return SendOutcome.PERMANENT
    return SendOutcome.TEMPORARY


# Deliberately modest: the address came validated from the producing service; this only refuses
# what no SMTP server could take (and what would inject headers).
_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z0-9-]{2,63}$")


def address_is_deliverable(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def message_id_for(event_id: str, *, delivery_number: int, domain: str) -> str:
    """The mail's Message-ID: the same event always yields the same id, so a replay is one mail.

    A resend an administrator asked for is a new mail, with its own id.
    """
    local = event_id if delivery_number == 1 else f"{event_id}.{delivery_number}"
    return f"<{local}@{domain}>"


@dataclass
class Delivery:
    """One delivery of a notification, as the rules see it."""

    status: DeliveryStatus = DeliveryStatus.CREATED
    attempts: int = 0
    next_attempt_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def _move(self, to: DeliveryStatus) -> None:
        if to not in _ALLOWED[self.status]:
            raise IllegalTransitionError(f"a delivery cannot go from {self.status} to {to}")
        self.status = to

    def is_due(self, now: datetime) -> bool:
        if self.is_final:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= now

    def claim(self, now: datetime, *, lease: timedelta, max_attempts: int) -> DeliveryStatus:
        """Start an attempt; returns ``sending``, the status in which the mail may be sent.

        A ``sending`` delivery whose lease ran out (its worker died mid-send) counts as a failed
        attempt first; if that was its last one it ends ``permanent-failure`` instead.
        """
        if not self.is_due(now):
            raise IllegalTransitionError(f"a {self.status} delivery is not due")
        if self.status is DeliveryStatus.SENDING:
            self._move(DeliveryStatus.TEMPORARY_FAILURE)
            if self.attempts >= max_attempts:
                self._move(DeliveryStatus.PERMANENT_FAILURE)
                self.next_attempt_at = None
                return self.status
        self._move(DeliveryStatus.SENDING)
        self.attempts += 1
        self.next_attempt_at = now + lease
        return self.status

    def record(
        self,
        outcome: SendOutcome,
        now: datetime,
        *,
        max_attempts: int,
        retry_base_seconds: float,
        retry_max_seconds: float,
    ) -> DeliveryStatus:
        """Record the attempt's outcome; returns the new status."""
        if outcome is SendOutcome.ACCEPTED:
            self._move(DeliveryStatus.DELIVERED)
            self.next_attempt_at = None
        elif outcome is SendOutcome.PERMANENT or self.attempts >= max_attempts:
            self._move(DeliveryStatus.PERMANENT_FAILURE)
            self.next_attempt_at = None
        else:
            self._move(DeliveryStatus.TEMPORARY_FAILURE)
            self.next_attempt_at = now + retry_delay(
                self.attempts, base_seconds=retry_base_seconds, max_seconds=retry_max_seconds
            )
        return self.status


ANY_UNIT = "*"
_UNIT_FIELDS = ("institution", "from_institution", "to_institution", "office", "unit", "referred_to_unit")


def responsible_units(event_data: dict[str, object]) -> frozenset[str]:
    """The units on whose behalf a notification went out: the petition's institution (both, for a
    forwarded one), the immigration office, the police unit. Empty for national mails (accounts,
    certificates issued online): only an administrator of every unit handles those."""
    return frozenset(str(v) for k in _UNIT_FIELDS if isinstance(v := event_data.get(k), str) and v)


def may_handle(admin_units: set[str], event_data: dict[str, object]) -> bool:
    """An administrator acts on a notification of one of their units, or on any with ``*``."""
    return ANY_UNIT in admin_units or bool(admin_units & responsible_units(event_data))
