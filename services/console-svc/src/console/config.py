"""console-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import Length, Range, Regexp

__all__ = ["Settings"]

#: The console's pages sit under this path behind the gateway (and on the staff host name).
DEFAULT_PATH_PREFIX = "/staff"


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "console-svc"
    #: The console publishes and consumes no events: it only calls the API, as the staff member.
    needs_broker: ClassVar[bool] = False

    #: The gateway's internal address (``http://gateway``); every API call goes through it.
    api_base_url: str = ""
    #: Signs the forms' CSRF tokens; required, at least 32 characters, never defaulted.
    secret_key: str = ""
    #: Where the pages are mounted (``/staff``).
    path_prefix: str = DEFAULT_PATH_PREFIX
    #: The session cookie is sent over HTTPS only; off only for a plain-HTTP local run.
    session_cookie_secure: bool = True
    #: Shorter than a citizen's: a staff session left open on a counter's screen ends soon.
    session_idle_minutes: int = 15
    session_max_hours: int = 9
    #: ``pdftoppm`` (poppler-utils) renders a document's pages to images; its path and limits.
    pdftoppm_path: str = "pdftoppm"
    render_dpi: int = 110
    render_max_pages: int = 10
    render_timeout_seconds: float = 20.0

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {
            "api_base_url": env.str("API_BASE_URL").rstrip("/"),
            "secret_key": env.str("SECRET_KEY", validate=Length(min=32)),
            "path_prefix": env.str("PATH_PREFIX", DEFAULT_PATH_PREFIX, validate=Regexp(r"^(/[a-z0-9-]+)*/?$")),
            "session_cookie_secure": env.bool("SESSION_COOKIE_SECURE", True),
            "session_idle_minutes": env.int("SESSION_IDLE_MINUTES", 15, validate=Range(min=1, max=8 * 60)),
            "session_max_hours": env.int("SESSION_MAX_HOURS", 9, validate=Range(min=1, max=24)),
            "pdftoppm_path": env.str("PDFTOPPM_PATH", "pdftoppm"),
            "render_dpi": env.int("RENDER_DPI", 110, validate=Range(min=36, max=300)),
            "render_max_pages": env.int("RENDER_MAX_PAGES", 10, validate=Range(min=1, max=100)),
            "render_timeout_seconds": env.float("RENDER_TIMEOUT_SECONDS", 20.0, validate=Range(min=1, max=120)),
        }
