"""Sealed event fields: a one-time code that must reach notify-svc without being readable on the stream.

A few e-mails carry a secret (an e-mail confirmation code, a password-reset code). The producing
service seals it with a key it shares with notify-svc only; the event's schema marks the field
``"x-sealed": true``; analysts and every other consumer see ciphertext. Keys come from
``EVENT_SEALING_KEYS`` (comma-separated Fernet keys, newest first, so keys can rotate: the first
seals, all of them open). Sealed values expire (``ttl``) so an old stream replay opens nothing.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["Sealer", "SealingError", "generate_key"]


class SealingError(ValueError):
    """A sealed value that cannot be opened (wrong key, tampered, or expired)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one sealing key is required")
        self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])

    @classmethod
    def from_env(cls, variable: str = "EVENT_SEALING_KEYS") -> Sealer:
        raw = os.environ.get(variable, "")
        keys = [k for k in raw.split(",") if k.strip()]
        if not keys:
            from .config import ConfigurationError

            raise ConfigurationError(f"{variable} is required to seal or open secret event fields")
        return cls(keys)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str, *, ttl: int | None = 86400) -> str:
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=ttl).decode()
        except InvalidToken:
            raise SealingError("sealed value cannot be opened") from None
