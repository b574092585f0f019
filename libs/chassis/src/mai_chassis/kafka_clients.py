"""Kafka clients' security settings, read in one place: every producer, consumer and admin client takes them here.

The broker requires authentication (SASL/SCRAM-SHA-512, over TLS in production) and grants each
user only what ``contracts/`` says it may do. A client's settings come from the environment:

    KAFKA_SECURITY_PROTOCOL   PLAINTEXT (default), SASL_PLAINTEXT, SSL or SASL_SSL
    KAFKA_SASL_MECHANISM      SCRAM-SHA-512 (default with a SASL protocol), SCRAM-SHA-256 or PLAIN
    KAFKA_SASL_USERNAME       required with a SASL protocol
    KAFKA_SASL_PASSWORD       required with a SASL protocol; never logged, never in a repr
    KAFKA_SSL_CAFILE          the CA that signed the brokers' certificates (SSL protocols)

:func:`client_options` turns them into kafka-python keyword arguments; :func:`producer`,
:func:`consumer` and :func:`admin` build clients with them (the chassis' own classes, the tools,
the benchmarks and the tests all do), so no client is left that ignores them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

__all__ = [
    "MECHANISMS",
    "PROTOCOLS",
    "KafkaSecurity",
    "admin",
    "client_options",
    "consumer",
    "producer",
]

PROTOCOLS: Final = ("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL")
MECHANISMS: Final = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_MECHANISM: Final = "SCRAM-SHA-512"


@dataclass(frozen=True, kw_only=True)
class KafkaSecurity:
    """How a client proves who it is to the brokers (and checks who they are)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    ssl_cafile: str = ""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty when they can be used)."""
        found = []
        if self.protocol not in PROTOCOLS:
            found.append(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if self.uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                found.append(f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}")
            if not self.username:
                found.append(f"KAFKA_SASL_USERNAME is required with {self.protocol}")
            if not self.password:
                found.append(f"KAFKA_SASL_PASSWORD is required with {self.protocol}")
        return found

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """Read the settings from ``environ`` (``os.environ`` by default); ValueError if unusable."""
        env = os.environ if environ is None else environ
        protocol = env.get("KAFKA_SECURITY_PROTOCOL", "").strip().upper() or "PLAINTEXT"
        mechanism = env.get("KAFKA_SASL_MECHANISM", "").strip().upper()
        if protocol.startswith("SASL_") and not mechanism:
            mechanism = DEFAULT_MECHANISM
        return cls(
            protocol=protocol,
            sasl_mechanism=mechanism,
            username=env.get("KAFKA_SASL_USERNAME", ""),
            password=env.get("KAFKA_SASL_PASSWORD", ""),
            ssl_cafile=env.get("KAFKA_SSL_CAFILE", ""),
        )

    def as_user(self, username: str, password: str) -> KafkaSecurity:
        """The same protocol and mechanism, authenticated as another user."""
        return replace(self, username=username, password=password)

    def client_options(self) -> dict[str, Any]:
        """kafka-python keyword arguments (empty for an unauthenticated plaintext broker)."""
        options: dict[str, Any] = {}
        if self.protocol != "PLAINTEXT":
            options["security_protocol"] = self.protocol
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        if self.uses_sasl:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options

    def environment(self) -> dict[str, str]:
        """The variables that give a child process these settings (the opposite of from_env)."""
        variables = {"KAFKA_SECURITY_PROTOCOL": self.protocol}
        if self.ssl_cafile:
            variables["KAFKA_SSL_CAFILE"] = self.ssl_cafile
        if self.uses_sasl:
            variables.update(
                KAFKA_SASL_MECHANISM=self.sasl_mechanism,
                KAFKA_SASL_USERNAME=self.username,
                KAFKA_SASL_PASSWORD=self.password,
            )
        return variables


def client_options(security: KafkaSecurity | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """kafka-python security options: of ``security``, else read from the environment.

    A mapping is taken as options already made (a service's ``settings.kafka_client_options``).
    """
    if security is None:
        return KafkaSecurity.from_env().client_options()
    if isinstance(security, KafkaSecurity):
        return security.client_options()
    return dict(security)


def _servers(bootstrap_servers: str | list[str]) -> list[str]:
    return bootstrap_servers.split(",") if isinstance(bootstrap_servers, str) else list(bootstrap_servers)


def producer(
    bootstrap_servers: str | list[str], *, security: KafkaSecurity | Mapping[str, Any] | None = None, **options: Any
) -> Any:
    """A ``KafkaProducer`` with the security settings (``security``, else the environment's)."""
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=_servers(bootstrap_servers), **options, **client_options(security))


def consumer(
    *topics: str,
    bootstrap_servers: str | list[str],
    security: KafkaSecurity | Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """A ``KafkaConsumer`` with the security settings (``security``, else the environment's)."""
    from kafka import KafkaConsumer

    return KafkaConsumer(*topics, bootstrap_servers=_servers(bootstrap_servers), **options, **client_options(security))


def admin(
    bootstrap_servers: str | list[str], *, security: KafkaSecurity | Mapping[str, Any] | None = None, **options: Any
) -> Any:
    """A ``KafkaAdminClient`` with the security settings (``security``, else the environment's)."""
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=_servers(bootstrap_servers), **options, **client_options(security))
