"""audit-svc settings, read once from the environment (the chassis' common ones suffice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mai_chassis import ServiceSettings

__all__ = ["Settings"]


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "audit-svc"
