"""petition-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mai_chassis import ServiceSettings


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "petition-svc"
