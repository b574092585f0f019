"""What notify-svc's handlers need besides the unit of work, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .config import Settings
from .domain import RecipientLimit
from .template_registry import TemplateRegistry

__all__ = ["NotifyDeps", "build_deps"]


@dataclass(frozen=True)
class NotifyDeps:
    settings: Settings
    registry: TemplateRegistry
    #: The cap on mails anyone can trigger to one address (None: no cap).
    recipient_limit: RecipientLimit | None = None


def build_deps(settings: Settings, *, registry: TemplateRegistry | None = None) -> NotifyDeps:
    """The dependencies the settings describe (the web app, the worker and the command line share them)."""
    limit = (
        RecipientLimit(
            mails=settings.recipient_mail_limit, window=timedelta(seconds=settings.recipient_mail_window_seconds)
        )
        if settings.recipient_mail_limit
        else None
    )
    return NotifyDeps(
        settings=settings,
        registry=registry or TemplateRegistry(public_base_url=settings.public_base_url),
        recipient_limit=limit,
    )
