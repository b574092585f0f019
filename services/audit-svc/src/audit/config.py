"""audit-svc settings, read once from the environment (the chassis' common ones, and the anchor's keys)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow import ValidationError
from marshmallow.validate import Range

__all__ = ["Settings"]

#: HMAC-SHA256 wants at least 256 bits of secret (audit.anchor.MIN_KEY_LENGTH).
_MIN_KEY_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "audit-svc"

    #: Keys that sign the chain's checkpoints (``AUDIT_CHECKPOINT_KEYS``, comma-separated, newest
    #: first: the first signs, all check). Needed by ``anchor`` and ``verify-audit`` only.
    audit_checkpoint_keys: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    #: How many of the newest checkpoints (per partition) ``verify-audit`` checks the table against.
    audit_checkpoints_checked: int = 24

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        raw = env.str("AUDIT_CHECKPOINT_KEYS", "", validate=_keys_long_enough)
        return {
            "audit_checkpoint_keys": tuple(key.strip() for key in raw.split(",") if key.strip()),
            "audit_checkpoints_checked": env.int("AUDIT_CHECKPOINTS_CHECKED", 24, validate=Range(min=1)),
        }


def _keys_long_enough(value: str) -> None:
    if any(len(key.strip()) < _MIN_KEY_LENGTH for key in value.split(",") if key.strip()):
        raise ValidationError(f"Every key must be at least {_MIN_KEY_LENGTH} characters.")
