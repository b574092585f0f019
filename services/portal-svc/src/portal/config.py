"""portal-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import Length, Range

__all__ = ["Settings"]

#: Five attachments of 5 MB and the form around them (the petition form is the largest).
DEFAULT_MAX_CONTENT_LENGTH = 5 * 5 * 1024 * 1024 + 512 * 1024


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "portal-svc"
    #: The portal publishes and consumes no events: it only calls the API.
    needs_broker: ClassVar[bool] = False

    #: The gateway's internal address (``http://gateway``); every API call goes through it.
    api_base_url: str = ""
    #: Signs the forms' CSRF tokens; required, at least 32 characters, never defaulted.
    secret_key: str = ""
    #: The session cookie is sent over HTTPS only; off only for a plain-HTTP local run.
    session_cookie_secure: bool = True
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    #: Origins besides ours that a form may post or be redirected to (the identity provider).
    form_action_origins: tuple[str, ...] = ()

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {
            "api_base_url": env.str("API_BASE_URL").rstrip("/"),
            "secret_key": env.str("SECRET_KEY", validate=Length(min=32)),
            "session_cookie_secure": env.bool("SESSION_COOKIE_SECURE", True),
            "session_idle_minutes": env.int("SESSION_IDLE_MINUTES", 30, validate=Range(min=1, max=24 * 60)),
            "session_max_hours": env.int("SESSION_MAX_HOURS", 12, validate=Range(min=1, max=24 * 7)),
            "max_content_length": env.int("MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
            "form_action_origins": tuple(env.list("FORM_ACTION_ORIGINS", [])),
        }
