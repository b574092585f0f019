"""What audit-svc's handlers need besides the unit of work, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mai_chassis import ConfigurationError

from .config import Settings

if TYPE_CHECKING:
    from .anchor import CheckpointSigner

__all__ = ["AuditDeps", "build_deps"]


@dataclass(frozen=True)
class AuditDeps:
    settings: Settings

    def checkpoint_signer(self) -> CheckpointSigner:
        """The signer of the chain's checkpoints; only ``anchor`` and ``verify-audit`` need its keys."""
        from .anchor import CheckpointSigner

        if not self.settings.audit_checkpoint_keys:
            raise ConfigurationError("AUDIT_CHECKPOINT_KEYS is required to sign or check the audit chain's checkpoints")
        return CheckpointSigner(self.settings.audit_checkpoint_keys)


def build_deps(settings: Settings) -> AuditDeps:
    return AuditDeps(settings=settings)
