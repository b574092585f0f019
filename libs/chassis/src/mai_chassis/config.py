"""Service settings read once from environment variables, failing fast on missing values."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from environs import Env
from environs.exceptions import EnvValidationError
from marshmallow import ValidationError
from marshmallow.validate import OneOf, Range

from .kafka_clients import KafkaSecurity
from .worker import DEFAULT_STALL_SECONDS, MIN_STALL_SECONDS

__all__ = ["ENVIRONMENTS", "ConfigurationError", "ServiceSettings"]

ENVIRONMENTS = ("development", "test", "production")


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed; the process must not start."""


def _environment_kafka_options() -> dict[str, Any]:
    return KafkaSecurity.from_env().client_options()


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Settings every service shares; a service subclasses it to add its own.

    A subclass adds fields with defaults and overrides :meth:`read_own` to read them, e.g.::

        @dataclass(frozen=True, kw_only=True)
        class Settings(ServiceSettings):
            smtp_host: str = "localhost"

            @classmethod
            def read_own(cls, env: Env) -> dict[str, Any]:
                return {"smtp_host": env.str("SMTP_HOST")}
    """

    #: Service name, set by the subclass (e.g. ``"petition-svc"``).
    service_name: ClassVar[str] = "service"
    #: Set to False by a service that has no database (the gateway).
    needs_database: ClassVar[bool] = True
    #: Set to False by a service that neither publishes nor consumes events.
    needs_broker: ClassVar[bool] = True

    environment: str = "development"
    log_level: str = "INFO"
    log_json: bool = True
    database_url: str = ""
    kafka_bootstrap_servers: str = ""
    #: Prepended to every topic name; empty in production, unique per test run for isolation.
    kafka_topic_prefix: str = ""
    #: kafka-python's security options (mai_chassis.kafka_clients); settings made in code take the environment's.
    kafka_client_options: Mapping[str, Any] = dataclasses.field(default_factory=_environment_kafka_options)
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    public_base_url: str = "http://127.0.0.1:8080"
    port: int = 8080
    metrics_port: int = 9090
    #: The worker's ``/healthz`` fails when a loop has not stamped its progress for this long
    #: (see ``mai_chassis.worker.DEFAULT_STALL_SECONDS`` for why 120 s).
    worker_stall_seconds: float = DEFAULT_STALL_SECONDS
    web_concurrency: int = 2
    web_threads: int = 8
    #: A gunicorn worker is replaced after this many requests (0: never), against slow leaks. A
    #: replacement costs about a second of CPU and the worker's share of the pod meanwhile: at
    #: 20,000 a busy service (petition submits and lookups at 1,000-2,000 a second) replaced a
    #: worker every 10-20 s.
    web_max_requests: int = 200_000
    max_content_length: int = 1024 * 1024
    #: Proxies in front of the service whose X-Forwarded-For is trusted (1 behind the gateway).
    trusted_proxy_hops: int = 0
    #: HMAC key of the request fingerprints kept with Idempotency-Key records (at least 32
    #: characters; required by a production web process that has a database).
    request_fingerprint_key: str = dataclasses.field(default="", repr=False)
    #: Prometheus Pushgateway a short-lived job (``<service> purge``) pushes its metrics to, since
    #: nothing scrapes it before it ends (empty: nothing is pushed; a laptop run needs none).
    pushgateway_url: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def read_own(cls, env: Env) -> dict[str, Any]:
        """Read the subclass' own settings; the base class has none."""
        return {}

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Read every setting from ``os.environ``, collecting all problems into one error.

        ``overrides`` win over the environment (tests use them); nothing here has a secret default.
        """
        values = cls._read(Env(eager=False, expand_vars=False), provided=set(overrides))
        values.update(overrides)
        return cls(**values)

    @classmethod
    def _read(cls, env: Env, provided: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "environment": env.str("ENVIRONMENT", "development", validate=OneOf(ENVIRONMENTS)),
            "log_level": env.str("LOG_LEVEL", "INFO").upper(),
            "log_json": env.bool("LOG_JSON", True),
            "jwt_jwks_url": env.str("JWT_JWKS_URL", ""),
            "jwt_issuer": env.str("JWT_ISSUER", "mai-identity"),
            "jwt_audience": env.str("JWT_AUDIENCE", "mai-eservices"),
            "public_base_url": env.str("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
            "port": env.int("PORT", 8080),
            "metrics_port": env.int("METRICS_PORT", 9090),
            "worker_stall_seconds": env.float(
                "WORKER_STALL_SECONDS", DEFAULT_STALL_SECONDS, validate=Range(min=MIN_STALL_SECONDS)
            ),
            "web_concurrency": env.int("WEB_CONCURRENCY", 2),
            "web_threads": env.int("WEB_THREADS", 8),
            "web_max_requests": env.int("WEB_MAX_REQUESTS", 200_000, validate=Range(min=0)),
            "max_content_length": env.int("MAX_CONTENT_LENGTH", 1024 * 1024),
            "trusted_proxy_hops": env.int("TRUSTED_PROXY_HOPS", 0),
            "request_fingerprint_key": env.str("REQUEST_FINGERPRINT_KEY", "", validate=_empty_or_long_key),
            "pushgateway_url": env.str("PUSHGATEWAY_URL", "").rstrip("/"),
        }
        values["database_url"] = (
            env.str("DATABASE_URL")
            if cls.needs_database and "database_url" not in provided
            else env.str("DATABASE_URL", "")
        )
        values["kafka_bootstrap_servers"] = (
            env.str("KAFKA_BOOTSTRAP_SERVERS")
            if cls.needs_broker and "kafka_bootstrap_servers" not in provided
            else env.str("KAFKA_BOOTSTRAP_SERVERS", "")
        )
        values["kafka_topic_prefix"] = env.str("KAFKA_TOPIC_PREFIX", "")
        try:
            values["kafka_client_options"] = _kafka_security_options(env)
        except ValueError as exc:
            if cls.needs_broker:
                raise ConfigurationError(f"{cls.service_name} cannot start: {exc}") from None
            # A process that never talks to Kafka has no broker user: the settings are not its own.
            values["kafka_client_options"] = {}
        try:
            try:
                values.update(cls.read_own(env))
            except (AttributeError, TypeError):
                # A missing value reads as None until sealing; `.rstrip()` on it must not hide that.
                env.seal()  # type: ignore[no-untyped-call]
                raise
            env.seal()  # type: ignore[no-untyped-call]
        except EnvValidationError as exc:
            messages = exc.error_messages
            named = messages.items() if isinstance(messages, Mapping) else [("settings", messages)]
            problems = "; ".join(f"{name}: {', '.join(map(str, msgs))}" for name, msgs in named)
            raise ConfigurationError(f"{cls.service_name} cannot start: {problems}") from None
        return values


def _empty_or_long_key(value: str) -> None:
    if value and len(value) < 32:
        raise ValidationError("Must be at least 32 characters.")


def _kafka_security_options(env: Env) -> dict[str, Any]:
    """kafka-python's security options, read as :mod:`mai_chassis.kafka_clients` reads them everywhere."""
    names = (
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_CAFILE",
    )
    # Read through environs, so that these names are part of the settings this process declares.
    values = {name: env.str(name, "") or "" for name in names}
    return KafkaSecurity.from_env(values).client_options()
