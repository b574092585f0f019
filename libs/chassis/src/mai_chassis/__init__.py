"""The MAI e-services service chassis: what every service shares, written once.

Errors a service meets through the chassis::

    Exception
    ├── ConfigurationError    a required setting is missing or malformed (process exits)
    ├── Problem               an error for the client, rendered as RFC 9457 problem+json
    ├── DomainError           a command refused by a domain rule (-> the service's PROBLEMS table)
    ├── InvalidToken          an access token that must not be trusted (-> 401)
    ├── PermanentError        a consumed event that retrying cannot fix (-> dead letters)
    └── ValueError
        ├── EventDecodeError  a Kafka message that is not a CloudEvent (-> dead letters)
        └── ContractViolation event data that does not match its JSON Schema (mai_contracts)
"""

from .auth import InvalidToken, Principal, TokenVerifier, current_principal, require_auth
from .clock import Clock, FixedClock, SystemClock
from .config import ConfigurationError, ServiceSettings
from .consumer import EventConsumer, PermanentError
from .db import NAMING_CONVENTION, Database, SqlUnitOfWork
from .events import DomainEvent, Event, EventDecodeError, Recipient
from .idempotency import idempotent
from .outbox import OutboxRelay
from .problems import DomainError, Problem, ProblemType
from .service import ServiceDefinition, service_main
from .unit_of_work import UnitOfWork
from .web import create_service_app, load_json

__all__ = [
    "NAMING_CONVENTION",
    "Clock",
    "ConfigurationError",
    "Database",
    "DomainError",
    "DomainEvent",
    "Event",
    "EventConsumer",
    "EventDecodeError",
    "FixedClock",
    "InvalidToken",
    "OutboxRelay",
    "PermanentError",
    "Principal",
    "Problem",
    "ProblemType",
    "Recipient",
    "ServiceDefinition",
    "ServiceSettings",
    "SqlUnitOfWork",
    "SystemClock",
    "TokenVerifier",
    "UnitOfWork",
    "create_service_app",
    "current_principal",
    "idempotent",
    "load_json",
    "require_auth",
    "service_main",
]
