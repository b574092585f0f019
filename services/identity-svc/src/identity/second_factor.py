"""Staff second factor: TOTP codes (RFC 6238, SHA-1, 6 digits, 30-second steps) and recovery codes.

The secret is made here and leaves the service once, at enrolment (an ``otpauth://`` URI and its QR
code); the service keeps it encrypted (``FieldCipher``). A code is accepted for the current time
step or one step either side (a phone's clock a little off), and only for a step later than the
last one accepted, so the same code never works twice. Recovery codes are ten random codes of 50
bits each, kept as keyed hashes and spent one by one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno

__all__ = [
    "RECOVERY_CODES",
    "STEP_SECONDS",
    "Enrolment",
    "enrolment",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "normalise_recovery_code",
]

STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of the current one whose code is still accepted.
SKEW_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


@dataclass(frozen=True)
class Enrolment:
    """What the staff member's authenticator needs: the secret, its URI and the URI as a QR code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def new_secret() -> str:
    """A random 160-bit secret in base32 (RFC 4226's recommended length for HMAC-SHA1)."""
    return pyotp.random_base32(length=32)


def enrolment(secret: str, *, account_name: str, issuer: str) -> Enrolment:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, title=f"{issuer}: {account_name}")
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg)


def matching_step(secret: str, code: str, at: datetime, *, after: int | None) -> tuple[int | None, bool]:
    """The time step whose code ``code`` is (within the skew), and whether it was already used.

    Returns ``(step, False)`` for a code to accept, ``(step, True)`` for a code of a step at or
    before ``after`` (a replay), ``(None, False)`` for a wrong code.
    """
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isdigit():
        return None, False
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in range(now_step - SKEW_STEPS, now_step + SKEW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), candidate):
            return step, after is not None and step <= after
    return None, False


def new_recovery_codes() -> list[str]:
    """Ten codes such as ``k7m2p-qx9ta`` (10 characters of a 31-letter alphabet: ~50 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    """What is hashed: the letters only, lower case (dashes and spaces as typed do not count)."""
    return "".join(ch for ch in code.lower() if ch.isalnum())
