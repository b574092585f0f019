"""notify-svc settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from environs import Env
from mai_chassis import ServiceSettings
from marshmallow.validate import OneOf, Range

SMTP_SECURITY_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True, kw_only=True)
class Settings(ServiceSettings):
    service_name: ClassVar[str] = "notify-svc"

    smtp_host: str = ""
    smtp_port: int = 25
    #: ``none`` (a local relay), ``starttls`` (submission, port 587) or ``tls`` (implicit TLS, 465).
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_timeout_seconds: float = 10.0
    mail_from: str = ""
    #: Right-hand side of every ``Message-ID`` (``<event-id@domain>``).
    message_id_domain: str = "notify.e-services.mai.gov.ro"
    delivery_max_attempts: int = 8
    delivery_retry_base_seconds: float = 30.0
    delivery_retry_max_seconds: float = 3600.0
    #: How long a claimed notification stays ``sending`` before another worker may take it over.
    delivery_lease_seconds: float = 120.0
    delivery_batch_size: int = 50
    #: Delivery loops per worker process, each with its own SMTP connection.
    delivery_concurrency: int = 4
    delivery_idle_seconds: float = 0.5
    #: Mails anyone can trigger (registration, password reset, petition receipt...) per recipient
    #: address and window; more are recorded as suppressed, not sent. 0 turns the limit off.
    recipient_mail_limit: int = 10
    recipient_mail_window_seconds: int = 86400

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        return {
            "smtp_host": env.str("SMTP_HOST"),
            "smtp_port": env.int("SMTP_PORT", 25),
            "smtp_security": env.str("SMTP_SECURITY", "starttls", validate=OneOf(SMTP_SECURITY_MODES)),
            "smtp_username": env.str("SMTP_USERNAME", ""),
            "smtp_password": env.str("SMTP_PASSWORD", ""),
            "smtp_timeout_seconds": env.float("SMTP_TIMEOUT_SECONDS", 10.0),
            "mail_from": env.str("MAIL_FROM"),
            "message_id_domain": env.str("MESSAGE_ID_DOMAIN", "notify.e-services.mai.gov.ro"),
            "delivery_max_attempts": env.int("DELIVERY_MAX_ATTEMPTS", 8, validate=Range(min=1)),
            "delivery_retry_base_seconds": env.float("DELIVERY_RETRY_BASE_SECONDS", 30.0),
            "delivery_retry_max_seconds": env.float("DELIVERY_RETRY_MAX_SECONDS", 3600.0),
            "delivery_lease_seconds": env.float("DELIVERY_LEASE_SECONDS", 120.0),
            "delivery_batch_size": env.int("DELIVERY_BATCH_SIZE", 50, validate=Range(min=1)),
            "delivery_concurrency": env.int("DELIVERY_CONCURRENCY", 4, validate=Range(min=1)),
            "delivery_idle_seconds": env.float("DELIVERY_IDLE_SECONDS", 0.5),
            "recipient_mail_limit": env.int("RECIPIENT_MAIL_LIMIT", 10, validate=Range(min=0)),
            "recipient_mail_window_seconds": env.int("RECIPIENT_MAIL_WINDOW_SECONDS", 86400, validate=Range(min=1)),
        }
