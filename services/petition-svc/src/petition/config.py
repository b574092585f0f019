"""petition-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings

#: Attachments: at most this many per petition, each at most this large.
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
#: Room for every attachment plus the form itself; a larger body is refused with 413 unread.
DEFAULT_MAX_CONTENT_LENGTH = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + 512 * 1024


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "petition-svc"

    #: Where attachment files are kept, under their SHA-256 (a volume shared by the web pods).
    attachments_dir: str = "var/petition-attachments"
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {
            "attachments_dir": env.str("ATTACHMENTS_DIR", "var/petition-attachments"),
            "max_content_length": env.int("MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        }
