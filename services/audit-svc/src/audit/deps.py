"""What audit-svc's handlers need besides the unit of work, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings

__all__ = ["AuditDeps", "build_deps"]


@dataclass(frozen=True)
class AuditDeps:
    settings: Settings


def build_deps(settings: Settings) -> AuditDeps:
    return AuditDeps(settings=settings)
